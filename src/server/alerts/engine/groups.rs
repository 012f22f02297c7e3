//! A rule's groups: the one without a value (no `group_by`, or an entry without the key) apart
//! from one per value, so finding an entry's group borrows its value instead of copying it.

use std::collections::BTreeMap;

use super::Group;

#[derive(Debug, Default)]
pub(super) struct Groups {
    none: Option<Group>,
    /// Ordered, so that a tick visits (and notifies) groups in the same order every run.
    named: BTreeMap<String, Group>,
}

impl Groups {
    pub(super) fn len(&self) -> usize {
        usize::from(self.none.is_some()) + self.named.len()
    }

    pub(super) fn contains(&self, key: Option<&str>) -> bool {
        match key {
            None => self.none.is_some(),
            Some(k) => self.named.contains_key(k),
        }
    }

    pub(super) fn get_mut(&mut self, key: Option<&str>) -> Option<&mut Group> {
        match key {
            None => self.none.as_mut(),
            Some(k) => self.named.get_mut(k),
        }
    }

    pub(super) fn insert(&mut self, key: Option<&str>, group: Group) {
        match key {
            None => self.none = Some(group),
            Some(k) => {
                self.named.insert(k.to_owned(), group);
            }
        }
    }

    pub(super) fn retain(&mut self, mut keep: impl FnMut(&Group) -> bool) {
        if self.none.as_ref().is_some_and(|g| !keep(g)) {
            self.none = None;
        }
        self.named.retain(|_, g| keep(g));
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (Option<&str>, &mut Group)> {
        let none = self.none.as_mut().map(|g| (None, g));
        let named = self.named.iter_mut().map(|(k, g)| (Some(k.as_str()), g));
        none.into_iter().chain(named)
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &Group> {
        self.none.iter().chain(self.named.values())
    }
}
