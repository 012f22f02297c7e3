//! An entry as the scrollback keeps it: a compact row, not the [`LogEntry`] the source delivers.
//!
//! The buffer is nearly all of the viewer's memory, and a `LogEntry` costs about four times its JSON
//! size: three `String`s with their capacity slack, and `meta` as a vector of pairs (a `String` per key
//! read from JSON and a 32-byte `Value` per value). A stored row keeps inline only what a filter pass
//! reads (level, the interned name ids, whether the fixed filters pass) and makes one heap allocation:
//! the message followed by `meta`, decoded once on arrival into length-prefixed pairs (see [`pairs`]).
//! Drawing a row, and `r`, walk those pairs without parsing anything; only the detail view and `y`
//! rebuild a `LogEntry`, once per key press.

mod pairs;

use chrono::{DateTime, Utc};

pub(crate) use pairs::{PairValue, Pairs};

use super::{Dim, NameId, Names};
use crate::model::{Level, LogEntry};

const HAS_INSTANCE: u8 = 1;
const HAS_REGION: u8 = 2;
const HAS_SEQ: u8 = 4;
/// The entry passes the command line's fixed filters. They never change during a session, so they are
/// checked once, on arrival, while the entry is still whole.
const PASSES_FIXED: u8 = 8;

/// One buffered entry (64 bytes inline plus its text).
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    timestamp: DateTime<Utc>,
    /// Source, instance and region; absent names are interned as the empty name.
    names: [NameId; 3],
    seq: u64,
    /// The message, then `meta` as pairs in its original key order; empty when `meta` is.
    text: Box<str>,
    /// Where the message ends in `text`.
    message_len: u32,
    /// Names the interner could not keep exactly (it folds names past its bound into one), held by
    /// the row so the detail view and `y` still show the real one. `None` almost always.
    spilled: Option<Box<[Option<Box<str>>; 3]>>,
    level: Level,
    flags: u8,
}

/// A stored entry with its names looked up: what rendering, the detail view and `y` read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryRef<'a> {
    pub(crate) timestamp: DateTime<Utc>,
    pub(crate) level: Level,
    pub(crate) source: &'a str,
    pub(crate) instance: Option<&'a str>,
    pub(crate) region: Option<&'a str>,
    pub(crate) seq: Option<u64>,
    pub(crate) message: &'a str,
    pub(crate) meta: Pairs<'a>,
}

/// Buffers reused from one arrival to the next, so storing an entry allocates only the row's text.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    text: String,
    json: Vec<u8>,
}

impl Stored {
    /// Stores `entry`, whose names `names` interned as `ids`.
    pub(crate) fn new(
        entry: LogEntry,
        ids: [NameId; 3],
        names: &Names,
        fixed: bool,
        scratch: &mut Scratch,
    ) -> Stored {
        let LogEntry {
            timestamp,
            level,
            source,
            mut message,
            meta,
            instance,
            region,
            seq,
        } = entry;
        // A frame is at most 64 MiB, so this never cuts; it keeps the split point honest if one did.
        if message.len() > u32::MAX as usize {
            let mut end = u32::MAX as usize;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        let message_len = message.len() as u32;
        // Written into a reused scratch buffer, then copied once into an exact-size allocation:
        // growing the message's own buffer instead costs reallocations on every arrival.
        scratch.text.clear();
        scratch.text.push_str(&message);
        pairs::encode(&mut scratch.text, &meta, &mut scratch.json);
        let text = Box::<str>::from(scratch.text.as_str());
        let actual = [
            Some(source.as_str()),
            instance.as_deref(),
            region.as_deref(),
        ];
        let spill = |dim: Dim| {
            let name = actual[dim as usize].unwrap_or("");
            (names.get(dim).name(ids[dim as usize]) != name).then(|| name.into())
        };
        let spilled = Dim::ALL.map(spill);
        let mut flags = 0;
        for (present, flag) in [
            (instance.is_some(), HAS_INSTANCE),
            (region.is_some(), HAS_REGION),
            (seq.is_some(), HAS_SEQ),
            (fixed, PASSES_FIXED),
        ] {
            flags |= if present { flag } else { 0 };
        }
        Stored {
            timestamp,
            names: ids,
            seq: seq.unwrap_or(0),
            text,
            message_len,
            spilled: spilled
                .iter()
                .any(Option::is_some)
                .then(|| Box::new(spilled)),
            level,
            flags,
        }
    }

    pub(crate) fn timestamp(&self) -> DateTime<Utc> {
        self.timestamp
    }

    pub(crate) fn level(&self) -> Level {
        self.level
    }

    pub(crate) fn names(&self) -> [NameId; 3] {
        self.names
    }

    pub(crate) fn message(&self) -> &str {
        &self.text[..self.message_len as usize]
    }

    /// `meta`, as pairs to walk.
    pub(crate) fn meta(&self) -> Pairs<'_> {
        Pairs::new(&self.text[self.message_len as usize..])
    }

    /// Whether the command line's fixed filters (`--where`, `--since`, `--until`) pass it.
    pub(crate) fn passes_fixed(&self) -> bool {
        self.flags & PASSES_FIXED != 0
    }

    /// The entry with its names looked up in `names`, the interner that gave its ids.
    pub(crate) fn view<'a>(&'a self, names: &'a Names) -> EntryRef<'a> {
        let name = |dim: Dim| -> &'a str {
            match self
                .spilled
                .as_ref()
                .and_then(|s| s[dim as usize].as_deref())
            {
                Some(spilled) => spilled,
                None => names.get(dim).name(self.names[dim as usize]),
            }
        };
        let has = |flag: u8| self.flags & flag != 0;
        EntryRef {
            timestamp: self.timestamp,
            level: self.level,
            source: name(Dim::Source),
            instance: has(HAS_INSTANCE).then(|| name(Dim::Instance)),
            region: has(HAS_REGION).then(|| name(Dim::Region)),
            seq: has(HAS_SEQ).then_some(self.seq),
            message: self.message(),
            meta: self.meta(),
        }
    }
}

impl EntryRef<'_> {
    /// The entry as the source delivered it, field for field (its JSON is the same bytes).
    pub(crate) fn to_entry(self) -> LogEntry {
        LogEntry {
            timestamp: self.timestamp,
            level: self.level,
            source: self.source.to_owned(),
            message: self.message.to_owned(),
            meta: self.meta.to_meta(),
            instance: self.instance.map(str::to_owned),
            region: self.region.map(str::to_owned),
            seq: self.seq,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tui::app::names::NewRule;

    /// `entry` stored alone, with the interner it needs.
    pub(crate) fn stored(entry: LogEntry) -> (Names, Stored) {
        let mut names = Names::new([NewRule::On, NewRule::On, NewRule::On]);
        let ids = names.add(&entry);
        let stored = Stored::new(entry, ids, &names, true, &mut Scratch::default());
        (names, stored)
    }

    /// `meta` written as JSON, encoded as a row keeps it.
    pub(crate) fn pairs_of(json: &str) -> String {
        let meta: crate::model::Meta = serde_json::from_str(json).unwrap();
        let mut text = String::new();
        pairs::encode(&mut text, &meta, &mut Vec::new());
        text
    }

    const FULL: &str = r#"{"timestamp":"2026-02-05T18:13:38.123Z","level":"warn","source":"api","message":"slow\n\tquery ✓","meta":{"z":1,"a":{"b":[1.5,-2,"x\"y"]},"requestId":"req_1","n":null},"instance":"148e","region":"ord","seq":42}"#;

    #[test]
    fn an_entry_comes_back_byte_for_byte() {
        for json in [
            FULL,
            r#"{"timestamp":"2026-02-05T18:13:38.000Z","level":"info","source":"","message":""}"#,
            r#"{"timestamp":"2026-02-05T18:13:38.000Z","level":"info","source":"db","message":"m","instance":"","region":""}"#,
        ] {
            let entry: LogEntry = serde_json::from_str(json).unwrap();
            let (names, stored) = stored(entry.clone());
            assert_eq!(stored.view(&names).to_entry(), entry);
            assert_eq!(stored.view(&names).to_entry().to_json(), json);
        }
    }

    #[test]
    fn the_message_and_meta_are_read_in_place() {
        let (names, stored) = stored(serde_json::from_str(FULL).unwrap());
        assert_eq!(stored.message(), "slow\n\tquery ✓");
        let view = stored.view(&names);
        let keys: Vec<&str> = view.meta.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["z", "a", "requestId", "n"]);
        assert_eq!(view.meta.get("requestId"), Some(PairValue::Str("req_1")));
        assert_eq!(view.meta.get("n"), Some(PairValue::Json("null")));
        assert_eq!(
            view.meta.get("a"),
            Some(PairValue::Json(r#"{"b":[1.5,-2,"x\"y"]}"#))
        );
        assert_eq!(view.meta.get("b"), None, "only top-level keys");
    }

    #[test]
    fn meta_costs_no_more_than_its_compact_json() {
        let entry: LogEntry = serde_json::from_str(FULL).unwrap();
        let json = serde_json::to_string(&entry.meta).unwrap().len();
        let (_, row) = stored(entry);
        assert!(row.meta().encoded_len() < json);
        let (_, bare) = stored(LogEntry::new(Level::Info, "api", "m"));
        assert!(bare.meta().is_empty());
    }

    #[test]
    fn names_past_the_interners_bound_stay_exact() {
        let mut names = Names::new([NewRule::On, NewRule::On, NewRule::On]);
        let mut last = None;
        for n in 0..10_005 {
            let mut entry = LogEntry::new(Level::Info, format!("s{n}"), "m");
            entry.instance = Some(format!("i{n}"));
            let ids = names.add(&entry);
            last = Some((
                Stored::new(entry, ids, &names, true, &mut Scratch::default()),
                n,
            ));
        }
        let (stored, n) = last.unwrap();
        let view = stored.view(&names);
        assert_eq!(view.source, format!("s{n}"));
        assert_eq!(view.instance, Some(format!("i{n}").as_str()));
        assert_eq!(view.region, None);
    }

    #[test]
    fn a_row_stays_small() {
        assert!(std::mem::size_of::<Stored>() <= 64);
        assert!(std::mem::size_of::<super::super::Row>() <= 64);
    }
}
