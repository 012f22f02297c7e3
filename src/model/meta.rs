//! [`Meta`]: an entry's structured fields, as a short vector of key/value pairs.
//!
//! An entry carries a handful of fields, so a vector searched from the front beats a hash map: one
//! allocation, no hashing, and keys known at compile time (the request-logging layer's `method` and
//! `path`, tracing's field names) are borrowed rather than copied into a `String` each.
//!
//! It behaves like the `serde_json::Map` (with `preserve_order`) it replaced: keys keep insertion
//! order, inserting a key that is present replaces its value in place, and a JSON object that repeats
//! a key keeps the key's first position with its last value.
//!
//! One-at-a-time [`Meta::insert`] scans, which is quadratic for many keys; only code that adds a few
//! fields calls it. Bulk input (deserializing, [`Extend`]) can be hostile, so it is appended whole and
//! its duplicates folded afterwards: by scanning when small, through a hash index above
//! [`SCAN_LIMIT`] keys, so an object with 100,000 keys still takes linear time.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::ops::Index;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A key of [`Meta`]: borrowed for a `&'static str`, so literal keys cost no allocation.
pub type MetaKey = Cow<'static, str>;

/// Above this many keys, duplicates are found through a hash index instead of by scanning.
const SCAN_LIMIT: usize = 32;

/// Structured metadata attached to an entry: key/value pairs with unique keys, in insertion order.
///
/// Serializes as a JSON object in that order. Equality compares order too.
#[derive(Clone, Default, PartialEq)]
pub struct Meta {
    entries: Vec<(MetaKey, Value)>,
}

impl Meta {
    /// An empty meta; allocates nothing until the first insert.
    pub const fn new() -> Self {
        Meta {
            entries: Vec::new(),
        }
    }

    /// An empty meta with room for `capacity` fields.
    pub fn with_capacity(capacity: usize) -> Self {
        Meta {
            entries: Vec::with_capacity(capacity),
        }
    }

    /// The heap this meta owns: its vector, owned keys and every value (see `model::size`).
    pub(crate) fn heap_size(&self) -> usize {
        let vector =
            super::size::block(self.entries.capacity() * std::mem::size_of::<(MetaKey, Value)>());
        let fields: usize = self
            .entries
            .iter()
            .map(|(key, value)| {
                let key = match key {
                    Cow::Borrowed(_) => 0,
                    Cow::Owned(s) => super::size::block(s.capacity()),
                };
                key + super::size::value_heap(value)
            })
            .sum();
        vector + fields
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value under `key`, to change in place.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key` to `value`. A present key keeps its position and the old value is returned; a new
    /// key goes last.
    pub fn insert(&mut self, key: impl Into<MetaKey>, value: impl Into<Value>) -> Option<Value> {
        let key = key.into();
        let value = value.into();
        match self.position(&key) {
            Some(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }

    /// Adds the pairs whose key is not present yet; present keys keep their value and position (and
    /// of pairs repeating a key, the first counts). Linear time, like [`Extend`].
    pub(crate) fn extend_missing<K: Into<MetaKey>, V: Into<Value>>(
        &mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) {
        let unique = self.entries.len();
        self.entries
            .extend(pairs.into_iter().map(|(k, v)| (k.into(), v.into())));
        fold_duplicates(&mut self.entries, unique, Keep::First);
    }

    /// Removes `key` and returns its value; the fields after it keep their order.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key)?;
        Some(self.entries.remove(i).1)
    }

    /// Keeps only the fields for which `keep` returns `true`, in their order.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut Value) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    /// The fields in order.
    pub fn iter(&self) -> MetaIter<'_> {
        MetaIter(self.entries.iter())
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| &**k)
    }
}

/// Which value a repeated key keeps when duplicates are folded.
#[derive(Clone, Copy, PartialEq)]
enum Keep {
    /// The first, as `entry(k).or_insert(v)` would.
    First,
    /// The last, as repeated `insert` would.
    Last,
}

/// Folds repeated keys into their first occurrence, as if `entries[unique..]` had been inserted one
/// by one into a map holding `entries[..unique]` (whose keys are already distinct).
fn fold_duplicates(entries: &mut Vec<(MetaKey, Value)>, unique: usize, keep: Keep) {
    // (index of a repeat, index of the key's first occurrence), repeats in increasing order.
    let mut repeats = Vec::new();
    if entries.len() <= SCAN_LIMIT {
        for i in unique..entries.len() {
            if let Some(first) = entries[..i].iter().position(|(k, _)| *k == entries[i].0) {
                repeats.push((i, first));
            }
        }
    } else {
        // SipHash (std's default) so crafted keys cannot make every lookup collide.
        let mut first_at = HashMap::<&str, usize>::with_capacity(entries.len());
        for (i, (key, _)) in entries.iter().enumerate() {
            match first_at.entry(&**key) {
                Entry::Occupied(first) => repeats.push((i, *first.get())),
                Entry::Vacant(slot) => {
                    slot.insert(i);
                }
            }
        }
    }
    if repeats.is_empty() {
        return;
    }
    if keep == Keep::Last {
        // In increasing order, so the last repeat of a key is the one that stays.
        for &(repeat, first) in &repeats {
            entries[first].1 = std::mem::take(&mut entries[repeat].1);
        }
    }
    let mut repeats = repeats.iter().map(|&(repeat, _)| repeat).peekable();
    let mut i = 0;
    entries.retain(|_| {
        let drop = repeats.next_if_eq(&i).is_some();
        i += 1;
        !drop
    });
}

/// Borrowing iterator over a [`Meta`]'s fields in order, from [`Meta::iter`].
#[derive(Clone, Debug)]
pub struct MetaIter<'a>(std::slice::Iter<'a, (MetaKey, Value)>);

impl<'a> Iterator for MetaIter<'a> {
    type Item = (&'a str, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (&**k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }

    // Straight to the field (the default walks there): alert rules look up a field by position.
    fn nth(&mut self, n: usize) -> Option<Self::Item> {
        self.0.nth(n).map(|(k, v)| (&**k, v))
    }
}

impl DoubleEndedIterator for MetaIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (&**k, v))
    }
}

impl ExactSizeIterator for MetaIter<'_> {}

impl<'a> IntoIterator for &'a Meta {
    type Item = (&'a str, &'a Value);
    type IntoIter = MetaIter<'a>;

    fn into_iter(self) -> MetaIter<'a> {
        self.iter()
    }
}

impl IntoIterator for Meta {
    type Item = (MetaKey, Value);
    type IntoIter = std::vec::IntoIter<(MetaKey, Value)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

/// Later pairs replace earlier ones with the same key, as with [`Meta::insert`].
impl<K: Into<MetaKey>, V: Into<Value>> FromIterator<(K, V)> for Meta {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut meta = Meta::new();
        meta.extend(pairs);
        meta
    }
}

/// Inserts each pair in order, as [`Meta::insert`] would, in linear time.
impl<K: Into<MetaKey>, V: Into<Value>> Extend<(K, V)> for Meta {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, pairs: I) {
        let unique = self.entries.len();
        self.entries
            .extend(pairs.into_iter().map(|(k, v)| (k.into(), v.into())));
        fold_duplicates(&mut self.entries, unique, Keep::Last);
    }
}

/// `meta["key"]` is the value, or `Value::Null` when the key is absent.
impl Index<&str> for Meta {
    type Output = Value;

    fn index(&self, key: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(key).unwrap_or(&NULL)
    }
}

impl fmt::Debug for Meta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl From<Map<String, Value>> for Meta {
    fn from(map: Map<String, Value>) -> Self {
        // A map's keys are already distinct: nothing to fold.
        Meta {
            entries: map.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect(),
        }
    }
}

impl From<Meta> for Map<String, Value> {
    fn from(meta: Meta) -> Self {
        meta.into_iter().map(|(k, v)| (k.into_owned(), v)).collect()
    }
}

impl Serialize for Meta {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (key, value) in self {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Meta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(MetaVisitor)
    }
}

struct MetaVisitor;

impl<'de> Visitor<'de> for MetaVisitor {
    type Value = Meta;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    // As serde_json's Map: a unit (from formats that have one) is an empty map.
    fn visit_unit<E: serde::de::Error>(self) -> Result<Meta, E> {
        Ok(Meta::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Meta, A::Error> {
        // The hint comes from the input, so it only sizes the first allocation, within reason.
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(SCAN_LIMIT));
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            entries.push((Cow::Owned(key), value));
        }
        fold_duplicates(&mut entries, 0, Keep::Last);
        Ok(Meta { entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(meta: &Meta) -> Vec<&str> {
        meta.keys().collect()
    }

    #[test]
    fn order_survives_a_round_trip() {
        let text = r#"{"zeta":1,"alpha":{"y":2,"x":[3]},"mid":"m","beta":null}"#;
        let meta: Meta = serde_json::from_str(text).unwrap();
        assert_eq!(keys(&meta), ["zeta", "alpha", "mid", "beta"]);
        assert_eq!(serde_json::to_string(&meta).unwrap(), text);
        let again: Meta = serde_json::from_str(&serde_json::to_string(&meta).unwrap()).unwrap();
        assert_eq!(again, meta);
    }

    #[test]
    fn inserting_a_present_key_replaces_it_in_place() {
        let mut meta = Meta::new();
        assert_eq!(meta.insert("a", 1), None);
        assert_eq!(meta.insert("b", 2), None);
        assert_eq!(meta.insert(String::from("c"), 3), None);
        assert_eq!(meta.insert("a", "one"), Some(json!(1)));
        assert_eq!(keys(&meta), ["a", "b", "c"]);
        assert_eq!(meta["a"], "one");
        assert_eq!(meta.len(), 3);
    }

    #[test]
    fn last_duplicate_wins_on_deserialize_at_the_first_position() {
        let meta: Meta = serde_json::from_str(r#"{"a":1,"b":2,"a":3,"c":4,"b":5,"a":6}"#).unwrap();
        assert_eq!(keys(&meta), ["a", "b", "c"]);
        assert_eq!(
            serde_json::to_string(&meta).unwrap(),
            r#"{"a":6,"b":5,"c":4}"#
        );
        // As the map this replaced did.
        let map: Map<String, Value> =
            serde_json::from_str(r#"{"a":1,"b":2,"a":3,"c":4,"b":5,"a":6}"#).unwrap();
        assert_eq!(Meta::from(map), meta);
    }

    #[test]
    fn remove_keeps_the_order_of_the_rest() {
        let mut meta: Meta = [("a", 1), ("b", 2), ("c", 3), ("d", 4)]
            .into_iter()
            .collect();
        assert_eq!(meta.remove("b"), Some(json!(2)));
        assert_eq!(meta.remove("b"), None);
        assert_eq!(keys(&meta), ["a", "c", "d"]);
        meta.retain(|k, _| k != "a");
        assert_eq!(keys(&meta), ["c", "d"]);
    }

    #[test]
    fn a_huge_object_with_duplicates_decodes_in_linear_time_keeping_the_last() {
        const KEYS: usize = 100_000;
        let mut text = String::from("{");
        for i in 0..KEYS {
            text.push_str(&format!(r#""k{i}":{i},"#));
        }
        // Every key again, so a scan per key would make 10^10 comparisons.
        for i in 0..KEYS {
            text.push_str(&format!(r#""k{i}":"last {i}","#));
        }
        text.pop();
        text.push('}');
        let meta: Meta = serde_json::from_str(&text).unwrap();
        assert_eq!(meta.len(), KEYS);
        assert_eq!(meta.keys().next(), Some("k0"));
        assert_eq!(meta.keys().last(), Some("k99999"));
        assert_eq!(meta["k0"], "last 0");
        assert_eq!(meta["k54321"], "last 54321");
        assert_eq!(meta.iter().nth(7), Some(("k7", &json!("last 7"))));

        let mut extended = meta.clone();
        extended.extend((0..KEYS).map(|i| (format!("k{i}"), json!(-1))));
        assert_eq!(extended.len(), KEYS);
        assert_eq!(extended["k12"], -1);
        extended.extend_missing((0..=KEYS).map(|i| (format!("k{i}"), json!(-2))));
        assert_eq!(extended.len(), KEYS + 1);
        assert_eq!(extended["k12"], -1);
        assert_eq!(extended["k100000"], -2);
    }

    #[test]
    fn extend_replaces_and_extend_missing_keeps() {
        let mut meta: Meta = [("a", 1), ("b", 2)].into_iter().collect();
        meta.extend([("c", 3), ("a", 4), ("c", 5)]);
        assert_eq!(
            serde_json::to_value(&meta).unwrap(),
            json!({"a":4,"b":2,"c":5})
        );
        assert_eq!(keys(&meta), ["a", "b", "c"]);
        meta.extend_missing([("d", 6), ("a", 7), ("d", 8)]);
        assert_eq!(keys(&meta), ["a", "b", "c", "d"]);
        assert_eq!((&meta["a"], &meta["d"]), (&json!(4), &json!(6)));
    }

    #[test]
    fn indexing_a_missing_key_gives_null() {
        let meta: Meta = [("a", 1)].into_iter().collect();
        assert_eq!(meta["a"], 1);
        assert_eq!(meta["missing"], Value::Null);
        assert!(meta.get("missing").is_none());
    }

    #[test]
    fn literal_keys_are_borrowed() {
        let mut meta = Meta::with_capacity(2);
        meta.insert("method", "GET");
        meta.insert(format!("n{}", 1), 1);
        let mut owned = meta.clone().into_iter();
        assert!(matches!(owned.next(), Some((Cow::Borrowed("method"), _))));
        assert!(matches!(owned.next(), Some((Cow::Owned(k), _)) if k == "n1"));
    }
}
