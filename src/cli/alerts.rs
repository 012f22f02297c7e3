//! `vg alerts check` and `vg alerts test`: a rules file validated, or replayed over a log file, before
//! it is deployed. Neither sends anything.

use std::io::{BufReader, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::cli::{AlertsArgs, AlertsCommand, UsageError};
use crate::client::lines::read_line_capped;
use crate::model::decode::LineDecoder;
use crate::server::alerts::{Rules, replay};

/// Runs `vg alerts ...`.
pub fn run(args: AlertsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AlertsCommand::Check { rules } => {
            let loaded = load(&rules, "vg alerts check")?;
            let count = loaded.specs().count();
            let notifiers = loaded.notifiers().len();
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{}: {count} rule{} and {notifiers} notifier{}, all valid",
                rules.display(),
                plural(count),
                plural(notifiers)
            )?;
            Ok(ExitCode::SUCCESS)
        }
        AlertsCommand::Test { rules, file } => {
            let loaded = load(&rules, "vg alerts test")?;
            test(&loaded, &file)
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Reads and validates a rules file; each problem is one line on stderr, then a usage error.
pub(crate) fn load(path: &Path, command: &str) -> anyhow::Result<Rules> {
    Rules::from_file(path).map_err(|error| {
        for problem in &error.problems {
            crate::say!("{command}: {}: {problem}", path.display());
        }
        let n = error.problems.len();
        UsageError::new(format!(
            "{n} problem{} in {}; fix {} and try again",
            plural(n),
            path.display(),
            if n == 1 { "it" } else { "them" }
        ))
        .into()
    })
}

/// Replays `file` through `rules` at each entry's own timestamp and prints what would have been sent.
fn test(rules: &Rules, file: &Path) -> anyhow::Result<ExitCode> {
    let opened = std::fs::File::open(file)
        .map_err(|e| UsageError::new(format!("cannot read {}: {e}", file.display())))?;
    let source = file
        .file_stem()
        .map_or_else(|| "file".to_owned(), |s| s.to_string_lossy().into_owned());
    let mut input = BufReader::new(opened);
    let mut decoder = LineDecoder::default();
    let mut line = Vec::new();
    let mut entries = Vec::new();
    loop {
        line.clear();
        if read_line_capped(&mut input, &mut line)? == 0 {
            break;
        }
        if let Some(entry) = decoder.decode(&line, &source) {
            entries.push(entry);
        }
    }
    let count = entries.len();
    let sent = replay(rules, entries);
    let mut out = std::io::stdout().lock();
    for n in &sent {
        let to = rules
            .specs()
            .find(|r| r.name == n.rule)
            .map(|r| r.notify.join(", "))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "no notifier".into());
        writeln!(
            out,
            "{}  {}  -> {to}",
            n.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            crate::format::sanitize(&n.summary())
        )?;
    }
    writeln!(
        out,
        "{} notification{} from {count} entr{} of {} (nothing was sent)",
        sent.len(),
        plural(sent.len()),
        if count == 1 { "y" } else { "ies" },
        file.display()
    )?;
    Ok(ExitCode::SUCCESS)
}
