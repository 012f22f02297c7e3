//! The crate's layering, checked on its source: no import loops between files, and the core
//! modules every side shares (model, filter, format, wire, timespec) depend on no front end (clap,
//! ratatui, crossterm) and no server (axum, tower). docs/architecture.md explains the layers.
//!
//! The check reads `src/` as text: every `crate::`, `super::` and `self::` path outside comments and
//! test modules is an edge from its file to the file that defines the module it names (a path into
//! a module's re-exports points at that module's file, whose own `use` lines continue the chain).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules every side shares, and the crates they must not name.
const CORE: &[&str] = &["model", "filter", "format", "wire", "timespec"];
const FRONT_AND_SERVER_CRATES: &[&str] = &[
    "clap",
    "ratatui",
    "crossterm",
    "tui_input",
    "axum",
    "tower",
    "tokio_tungstenite",
];

/// A source file as a module path (`["server", "store", "emitter"]`).
type Module = Vec<String>;

struct Crate {
    /// Module path -> the code of its file, without comments and test modules.
    files: BTreeMap<Module, String>,
}

impl Crate {
    fn read() -> Crate {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = BTreeMap::new();
        for path in rust_files(&root) {
            let relative = path.strip_prefix(&root).unwrap().with_extension("");
            let mut module: Module = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if module == ["lib"] || module == ["main"] {
                module.clear();
                if path.ends_with("main.rs") {
                    continue; // The binary is a separate crate.
                }
            }
            let text = std::fs::read_to_string(&path).unwrap();
            files.insert(module, code_of(&text));
        }
        Crate { files }
    }

    /// The file a path inside `from` names: the longest prefix that is a module with a file.
    fn resolve(&self, from: &Module, path: &[&str]) -> Option<Module> {
        let mut absolute: Module = Vec::new();
        let mut rest = path;
        match rest.first() {
            Some(&"crate") => rest = &rest[1..],
            Some(&"super") | Some(&"self") => {
                absolute.clone_from(from);
                while let Some(&step) = rest.first() {
                    match step {
                        "super" => {
                            absolute.pop();
                        }
                        "self" => {}
                        _ => break,
                    }
                    rest = &rest[1..];
                }
            }
            _ => return None,
        }
        absolute.extend(rest.iter().map(|s| (*s).to_owned()));
        while !absolute.is_empty() {
            if self.files.contains_key(&absolute) {
                return Some(absolute);
            }
            absolute.pop();
        }
        None
    }

    /// File -> the files it imports from. A submodule using what the module that declares it (or
    /// one further up) defines is not counted: `super::App` in a part of the app is one module
    /// split into files, not a dependency between two.
    fn edges(&self) -> BTreeMap<Module, BTreeSet<Module>> {
        let mut edges = BTreeMap::new();
        for (module, code) in &self.files {
            let mut to = BTreeSet::new();
            for path in paths_in(code) {
                let mut parts: Vec<&str> = path.split("::").collect();
                // `child::item` in a parent (what its `pub use child::...` lines say).
                let mut child = module.clone();
                child.push(parts[0].to_owned());
                if self.files.contains_key(&child) {
                    parts.insert(0, "self");
                }
                if let Some(target) = self.resolve(module, &parts)
                    && !module.starts_with(&target)
                {
                    to.insert(target);
                }
            }
            edges.insert(module.clone(), to);
        }
        edges
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The file's code without comments and without its `#[cfg(test)]` module (tests may reach
/// anywhere), with `use` trees flattened into one path per line.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod tests"))
        {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        code.push_str(line.split(" // ").next().unwrap_or(line));
        code.push('\n');
    }
    let mut flat = String::new();
    for statement in use_statements(&code) {
        for path in expand_use(&statement) {
            flat.push_str(&path);
            flat.push('\n');
        }
    }
    flat + &code
}

/// The text of every `use` statement (which may span lines), without `use`, spaces and `;`.
fn use_statements(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = code.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_start();
        let Some(rest) = ["use ", "pub use ", "pub(crate) use "]
            .iter()
            .find_map(|start| line.strip_prefix(start))
        else {
            continue;
        };
        let mut statement = rest.to_owned();
        while !statement.contains(';') {
            match lines.next() {
                Some(more) => statement.push_str(more),
                None => break,
            }
        }
        let statement = statement.split(';').next().unwrap_or_default();
        let spaced = statement.split_whitespace().collect::<Vec<_>>().join(" ");
        let tight = [
            (":: ", "::"),
            (" ::", "::"),
            ("{ ", "{"),
            (" }", "}"),
            (", ", ","),
            (" ,", ","),
        ]
        .iter()
        .fold(spaced, |text, (from, to)| text.replace(from, to));
        out.push(tight);
    }
    out
}

/// `a::{b, c::{d, e}}` -> `a::b`, `a::c::d`, `a::c::e`.
fn expand_use(tree: &str) -> Vec<String> {
    let Some(open) = tree.find('{') else {
        return vec![tree.split(" as ").next().unwrap_or(tree).to_owned()];
    };
    let prefix = &tree[..open];
    let close = tree.rfind('}').filter(|&c| c > open).unwrap_or(tree.len());
    let inner = &tree[open + 1..close];
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .flat_map(|p| {
            let p = if p == "self" { "" } else { p };
            expand_use(&format!("{prefix}{p}"))
        })
        .map(|p| p.trim_end_matches("::").to_owned())
        .collect()
}

/// Every path with `::` in the code (`crate::a::b`, `super::c`, `child::d`, `serde::e`...); the
/// caller keeps those that lead to one of the crate's files.
fn paths_in(code: &str) -> Vec<String> {
    code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .filter(|word| word.contains("::") && !word.starts_with("::"))
        .map(|word| word.trim_end_matches(':').to_owned())
        .collect()
}

/// Every group of files that import each other, directly or around a loop (Tarjan's strongly
/// connected components with more than one file).
fn loops(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        found: Vec<Vec<Module>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, node: &'a Module) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            let edges = self.edges;
            for next in edges.get(node).into_iter().flatten() {
                let Some((next, _)) = edges.get_key_value(next) else {
                    continue;
                };
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.stack.contains(&next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let at = self.stack.iter().position(|m| *m == node).unwrap_or(0);
                let group: Vec<Module> = self.stack.drain(at..).cloned().collect();
                if group.len() > 1 {
                    self.found.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for node in edges.keys() {
        if !walk.index.contains_key(node) {
            walk.visit(node);
        }
    }
    walk.found
}

fn name(module: &Module) -> String {
    if module.is_empty() {
        "lib".to_owned()
    } else {
        module.join("/")
    }
}

#[test]
fn no_file_imports_one_that_imports_it_back() {
    let krate = Crate::read();
    let edges = krate.edges();
    assert!(
        edges.len() > 50,
        "read only {} files: is src/ where it was?",
        edges.len()
    );
    let found: Vec<String> = loops(&edges)
        .iter()
        .map(|group| group.iter().map(name).collect::<Vec<_>>().join(", "))
        .collect();
    assert!(
        found.is_empty(),
        "files that import each other (see docs/architecture.md for the layers):\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_core_depends_on_no_front_end_and_no_server() {
    let krate = Crate::read();
    for (module, code) in &krate.files {
        let Some(top) = module.first() else { continue };
        if !CORE.contains(&top.as_str()) {
            continue;
        }
        for word in code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
            let root = word.split("::").next().unwrap_or_default();
            assert!(
                !(word.contains("::") && FRONT_AND_SERVER_CRATES.contains(&root)),
                "{} uses {word}: the core must not depend on {root}",
                name(module)
            );
            let target = word
                .starts_with("crate::")
                .then(|| word.split("::").nth(1))
                .flatten();
            assert!(
                target.is_none_or(|t| CORE.contains(&t)),
                "{} uses {word}: the core may only use the core",
                name(module)
            );
        }
    }
}

#[test]
fn the_store_knows_nothing_of_http_or_the_taps() {
    let krate = Crate::read();
    for (module, targets) in krate.edges() {
        if module.starts_with(&["server".to_owned(), "store".to_owned()]) {
            for target in targets {
                let up = ["http", "taps"]
                    .iter()
                    .any(|layer| target.starts_with(&["server".to_owned(), (*layer).to_owned()]));
                assert!(
                    !up,
                    "{} imports {}: the store sits below http and taps",
                    name(&module),
                    name(&target)
                );
            }
        }
    }
}

#[test]
fn the_checker_sees_a_loop_and_a_use_tree() {
    assert_eq!(
        expand_use("crate::a::{b,c::{d as e,self}}"),
        ["crate::a::b", "crate::a::c::d", "crate::a::c"]
    );
    let m = |s: &str| -> Module { s.split('/').map(str::to_owned).collect() };
    let edges = BTreeMap::from([
        (m("a"), BTreeSet::from([m("b")])),
        (m("b"), BTreeSet::from([m("c")])),
        (m("c"), BTreeSet::from([m("a")])),
    ]);
    assert_eq!(loops(&edges).iter().map(Vec::len).collect::<Vec<_>>(), [3]);
    let krate = Crate {
        files: BTreeMap::from([(m("x/y"), String::new()), (m("x"), String::new())]),
    };
    assert_eq!(
        krate.resolve(&m("x/y"), &["super", "z", "Thing"]),
        Some(m("x"))
    );
    assert_eq!(
        krate.resolve(&m("q"), &["crate", "x", "y", "f"]),
        Some(m("x/y"))
    );
}
