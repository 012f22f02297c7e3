//! Checking that a record's JSON is an entry, without building one: a merged viewer without a
//! filter passes the record's JSON into its frame as it is, so nothing on that path needs the
//! entry's fields, only the certainty that a client will decode them.
//!
//! The check reads the same fields by the same rules as [`LogEntry`](crate::model::LogEntry)'s own
//! deserializer (the timestamp and level with its very functions, unknown fields refused), but keeps
//! nothing: no string, no `meta` map, no value is allocated. Whatever passes it, a client decodes.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::model::Level;

/// Whether `json` is one entry a client decodes as `LogEntry` does.
pub(super) fn is_entry(json: &str) -> bool {
    serde_json::from_str::<Shape>(json).is_ok()
}

/// `LogEntry`'s fields, each checked and dropped.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "the fields are read to check them, never used")]
struct Shape {
    #[serde(deserialize_with = "crate::model::timestamp::deserialize")]
    timestamp: chrono::DateTime<chrono::Utc>,
    level: Level,
    source: Text,
    message: Text,
    #[serde(default)]
    meta: Object,
    #[serde(default)]
    instance: Option<Text>,
    #[serde(default)]
    region: Option<Text>,
    #[serde(default)]
    seq: Option<u64>,
}

/// A string, read in place and dropped.
struct Text;

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Expect;
        impl Visitor<'_> for Expect {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Text, E> {
                Ok(Text)
            }
        }
        d.deserialize_str(Expect)
    }
}

/// `meta`: a map as `Meta` reads one (string keys, any JSON values; a unit is an empty map).
#[derive(Default)]
struct Object;

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Expect;
        impl<'de> Visitor<'de> for Expect {
            type Value = Object;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Object, E> {
                Ok(Object)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
                while map.next_entry::<Text, Any>()?.is_some() {}
                Ok(Object)
            }
        }
        d.deserialize_map(Expect)
    }
}

/// Any JSON value, read as `serde_json::Value` reads it (so a number out of range is refused, as
/// there), and dropped. `IgnoredAny` would skip such a number unread.
struct Any;

impl<'de> Deserialize<'de> for Any {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyVisitor)
    }
}

struct AnyVisitor;

impl<'de> Visitor<'de> for AnyVisitor {
    type Value = Any;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Any, E> {
        Ok(Any)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Any, E> {
        Ok(Any)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Any, E> {
        Ok(Any)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Any, E> {
        Ok(Any)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Any, E> {
        Ok(Any)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Any, E> {
        Ok(Any)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Any, A::Error> {
        while seq.next_element::<Any>()?.is_some() {}
        Ok(Any)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Any, A::Error> {
        while map.next_entry::<Text, Any>()?.is_some() {}
        Ok(Any)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LogEntry;

    #[test]
    fn it_accepts_exactly_what_a_client_decodes() {
        let cases = [
            r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"info","source":"api","message":"hi"}"#,
            r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"warn","source":"a\"b","message":"x\ny","meta":{"k":[1,{"n":null}],"f":0.5,"k":true},"instance":"web-1","region":null,"seq":7}"#,
            r#"{"timestamp":"2026-02-05T19:00:00+01:00","level":40,"source":"api","message":"m","meta":{}}"#,
            // Refused, each for one reason: unknown field, missing message, meta not a map, a number
            // out of range in meta, a bad timestamp, a bad level, a seq that is not a count, not an
            // object, not JSON at all.
            r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"info","source":"api","message":"hi","extra":1}"#,
            r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"info","source":"api"}"#,
            r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"info","source":"api","message":"hi","meta":[1]}"#,
            r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"info","source":"api","message":"hi","meta":{"n":1e400}}"#,
            r#"{"timestamp":"yesterday","level":"info","source":"api","message":"hi"}"#,
            r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"loud","source":"api","message":"hi"}"#,
            r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"info","source":"api","message":"hi","seq":-1}"#,
            r#"[1,2]"#,
            "not json",
        ];
        for json in cases {
            let decodes = serde_json::from_str::<LogEntry>(json).is_ok();
            assert_eq!(is_entry(json), decodes, "{json}");
        }
        assert_eq!(
            cases.iter().filter(|json| is_entry(json)).count(),
            3,
            "the first three are entries"
        );
    }
}
