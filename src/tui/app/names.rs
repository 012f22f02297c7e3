//! The sources, instances and regions seen so far, each interned once with its count in the buffer and
//! whether the view shows it.
//!
//! Rows carry small ids instead of being compared by name, so a filter pass over a million rows checks
//! three array slots, and the picker lists every name with its count without scanning the buffer.
//! A name seen for the first time is shown or hidden by a rule: the command line's `--source` globs or
//! `--instance`/`--region` lists at first, and "all on" or "all off" once the user chooses in the picker.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::filter::Glob;
use crate::format::sanitize;
use crate::model::LogEntry;
use crate::tui::width::width;

/// A name's index in its [`NameSet`].
pub(crate) type NameId = u32;

/// The most names one dimension keeps; beyond it new names share one `(other)` slot, so a stream of
/// unique names cannot grow memory without bound.
const MAX_NAMES: usize = 10_000;
const OTHER: &str = "(other)";

/// Which list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dim {
    Source,
    Instance,
    Region,
}

impl Dim {
    pub(crate) const ALL: [Dim; 3] = [Dim::Source, Dim::Instance, Dim::Region];

    pub(crate) fn title(self) -> &'static str {
        match self {
            Dim::Source => "Sources",
            Dim::Instance => "Instances",
            Dim::Region => "Regions",
        }
    }

    pub(crate) fn next(self) -> Dim {
        Dim::ALL[(self as usize + 1) % 3]
    }

    pub(crate) fn prev(self) -> Dim {
        Dim::ALL[(self as usize + 2) % 3]
    }
}

/// Whether a name seen for the first time is shown.
#[derive(Debug, Clone)]
pub(crate) enum NewRule {
    On,
    Off,
    /// `--source` / `--exclude-source` globs (a name must match one of `include`, when there are
    /// any, and none of `exclude`, as the server's filter decides), and how they read in the status
    /// bar (`api*,-worker`).
    Sources {
        include: Vec<Glob>,
        exclude: Vec<Glob>,
        label: String,
    },
    /// `--instance` / `--region` values.
    List(Vec<String>),
}

impl NewRule {
    fn admits(&self, name: &str) -> bool {
        match self {
            NewRule::On => true,
            NewRule::Off => false,
            NewRule::Sources {
                include, exclude, ..
            } => {
                (include.is_empty() || include.iter().any(|g| g.matches(name)))
                    && !exclude.iter().any(|g| g.matches(name))
            }
            NewRule::List(names) => names.iter().any(|n| n == name),
        }
    }
}

/// One dimension's names.
#[derive(Debug)]
pub(crate) struct NameSet {
    names: Vec<String>,
    lookup: HashMap<String, NameId>,
    counts: Vec<u64>,
    on: Vec<bool>,
    rule: NewRule,
    /// How rows show a name (instance ids shortened), which `widest` measures.
    shown: fn(&str) -> Cow<'_, str>,
    widest: usize,
}

impl NameSet {
    pub(crate) fn new(rule: NewRule) -> NameSet {
        NameSet {
            names: Vec::new(),
            lookup: HashMap::new(),
            counts: Vec::new(),
            on: Vec::new(),
            rule,
            shown: |name| Cow::Borrowed(name),
            widest: 0,
        }
    }

    /// A set whose rows show each name as `shown` makes it (instance ids: shortened).
    fn showing(self, shown: fn(&str) -> Cow<'_, str>) -> NameSet {
        NameSet { shown, ..self }
    }

    /// The id for `name` (the empty name stands for "absent"), counting one more row with it.
    pub(crate) fn add(&mut self, name: &str) -> NameId {
        let id = match self.lookup.get(name) {
            Some(&id) => id,
            None if self.names.len() >= MAX_NAMES => self.intern(OTHER),
            None => self.intern(name),
        };
        self.counts[id as usize] += 1;
        id
    }

    fn intern(&mut self, name: &str) -> NameId {
        if let Some(&id) = self.lookup.get(name) {
            return id;
        }
        let id = self.names.len() as NameId;
        self.names.push(name.to_owned());
        self.lookup.insert(name.to_owned(), id);
        self.counts.push(0);
        self.on.push(self.rule.admits(name));
        if !name.is_empty() {
            self.widest = self.widest.max(width(&sanitize(&(self.shown)(name))));
        }
        id
    }

    /// One row with this name left the buffer.
    pub(crate) fn remove(&mut self, id: NameId) {
        if let Some(count) = self.counts.get_mut(id as usize) {
            *count = count.saturating_sub(1);
        }
    }

    pub(crate) fn zero_counts(&mut self) {
        self.counts.fill(0);
    }

    pub(crate) fn is_on(&self, id: NameId) -> bool {
        self.on.get(id as usize).copied().unwrap_or(true)
    }

    pub(crate) fn toggle(&mut self, id: NameId) {
        if let Some(on) = self.on.get_mut(id as usize) {
            *on = !*on;
        }
    }

    /// Turns all of `ids` on, or all off if they all were on. With `everything`, names seen later follow
    /// the same choice.
    pub(crate) fn toggle_all(&mut self, ids: &[NameId], everything: bool) {
        let on = !ids.iter().all(|&id| self.is_on(id));
        for &id in ids {
            self.on[id as usize] = on;
        }
        if everything {
            self.rule = if on { NewRule::On } else { NewRule::Off };
        }
    }

    /// How the name reads on screen: sanitized, with the absent name spelled out.
    pub(crate) fn label(&self, id: NameId) -> String {
        match self.names.get(id as usize).map(String::as_str) {
            Some("") | None => "(none)".into(),
            Some(name) => sanitize(name).into_owned(),
        }
    }

    /// The name as interned: the empty name for "absent", `(other)` for names past the bound.
    pub(crate) fn name(&self, id: NameId) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }

    pub(crate) fn count(&self, id: NameId) -> u64 {
        self.counts.get(id as usize).copied().unwrap_or(0)
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// The command line's rule for names not chosen in the picker, as typed; `None` once the user
    /// chose for all names, or when there was none.
    pub(crate) fn rule_label(&self) -> Option<String> {
        match &self.rule {
            NewRule::On | NewRule::Off => None,
            NewRule::Sources { label, .. } => Some(label.clone()),
            NewRule::List(names) => Some(names.join(",")),
        }
    }

    /// How many names are hidden.
    pub(crate) fn hidden(&self) -> usize {
        self.on.iter().filter(|on| !**on).count()
    }

    /// The widest name's display width as rows show it (0 when no name has been seen).
    pub(crate) fn widest(&self) -> usize {
        self.widest
    }

    /// Ids whose label contains `narrow` (ignoring case), sorted by label.
    pub(crate) fn listed(&self, narrow: &str) -> Vec<NameId> {
        let narrow = narrow.to_lowercase();
        let mut ids: Vec<(String, NameId)> = (0..self.names.len() as NameId)
            .map(|id| (self.label(id).to_lowercase(), id))
            .filter(|(label, _)| label.contains(&narrow))
            .collect();
        ids.sort();
        ids.into_iter().map(|(_, id)| id).collect()
    }
}

/// All three lists.
#[derive(Debug)]
pub(crate) struct Names {
    pub(crate) sets: [NameSet; 3],
}

impl Names {
    pub(crate) fn new(rules: [NewRule; 3]) -> Names {
        let [sources, instances, regions] = rules.map(NameSet::new);
        Names {
            sets: [
                sources,
                instances.showing(crate::format::short_instance),
                regions,
            ],
        }
    }

    pub(crate) fn get(&self, dim: Dim) -> &NameSet {
        &self.sets[dim as usize]
    }

    pub(crate) fn get_mut(&mut self, dim: Dim) -> &mut NameSet {
        &mut self.sets[dim as usize]
    }

    /// Interns the entry's names, counting it.
    pub(crate) fn add(&mut self, entry: &LogEntry) -> [NameId; 3] {
        [
            self.sets[0].add(&entry.source),
            self.sets[1].add(entry.instance.as_deref().unwrap_or("")),
            self.sets[2].add(entry.region.as_deref().unwrap_or("")),
        ]
    }

    pub(crate) fn remove(&mut self, ids: [NameId; 3]) {
        for (set, id) in self.sets.iter_mut().zip(ids) {
            set.remove(id);
        }
    }

    /// Whether all three names are shown.
    pub(crate) fn shows(&self, ids: [NameId; 3]) -> bool {
        self.sets.iter().zip(ids).all(|(set, id)| set.is_on(id))
    }

    /// The natural width of the `source[instance] region` column.
    pub(crate) fn origin_width(&self) -> usize {
        let [source, instance, region] = self.sets.each_ref().map(NameSet::widest);
        source
            + if instance > 0 { instance + 2 } else { 0 }
            + if region > 0 { region + 1 } else { 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_column_is_as_wide_as_rows_show_instances() {
        let mut names = Names::new([NewRule::On, NewRule::On, NewRule::On]);
        let mut entry = LogEntry::new(crate::model::Level::Info, "api", "m");
        entry.instance = Some("148e6f2c7d1e89".into());
        names.add(&entry);
        // `api[148e6f]`: a machine id shown by its first six characters.
        assert_eq!(names.origin_width(), 11);
        entry.instance = Some("web-production-2".into());
        names.add(&entry);
        assert_eq!(names.origin_width(), "api[web-production-2]".len());
    }

    #[test]
    fn command_line_globs_decide_new_sources_until_the_user_chooses() {
        let mut set = NameSet::new(NewRule::Sources {
            include: vec![Glob::new("api*")],
            exclude: vec![Glob::new("*-test")],
            label: "api*".into(),
        });
        assert_eq!(set.rule_label().as_deref(), Some("api*"));
        let api = set.add("api-eu");
        let db = set.add("db");
        let api_test = set.add("api-test");
        assert!(set.is_on(api) && !set.is_on(db) && !set.is_on(api_test));
        assert_eq!(set.add("api-eu"), api);
        assert_eq!(set.count(api), 2);
        // All on, for everything: names seen later are on too, and the rule is gone.
        set.toggle_all(&[api, db], true);
        assert_eq!(set.rule_label(), None);
        let worker = set.add("worker");
        assert!(set.is_on(db) && set.is_on(worker));
        // All off, narrowed to some: the rule stays.
        set.toggle_all(&[db], false);
        let cron = set.add("cron");
        assert!(!set.is_on(db) && set.is_on(cron));
    }

    #[test]
    fn listing_narrows_ignoring_case_and_sorts() {
        let mut set = NameSet::new(NewRule::List(vec!["ord".into()]));
        for name in ["ord", "AMS", "", "fra"] {
            set.add(name);
        }
        let labels = |ids: Vec<NameId>| ids.into_iter().map(|id| set.label(id)).collect::<Vec<_>>();
        assert_eq!(labels(set.listed("")), ["(none)", "AMS", "fra", "ord"]);
        assert_eq!(labels(set.listed("am")), ["AMS"]);
        assert_eq!(set.hidden(), 3);
        assert_eq!(set.widest(), 3);
    }

    #[test]
    fn names_are_bounded() {
        let mut set = NameSet::new(NewRule::On);
        for n in 0..MAX_NAMES + 50 {
            set.add(&format!("s{n}"));
        }
        assert_eq!(set.len(), MAX_NAMES + 1);
        assert_eq!(set.label(MAX_NAMES as NameId), OTHER);
        assert_eq!(set.count(MAX_NAMES as NameId), 50);
    }
}
