//! `meta` as a stored row keeps it: decoded once, on arrival, into length-prefixed pairs that drawing,
//! `r` and the detail view walk without parsing JSON.
//!
//! Each top-level pair is `len(key) key len(value) value`. A string value is kept raw (unescaped),
//! as the screen shows it; any other value (number, bool, null, object, array) is kept as its compact
//! JSON, which is also exactly how the screen shows it. The value's length carries one more bit: whether
//! the value is JSON or a string.
//!
//! Lengths are written as characters, not bytes, so the whole row stays one `str` (the crate forbids
//! `unsafe`, and a byte buffer would need UTF-8 validation on every read of the message by a filter
//! pass). A length is base-16384 digits, least significant first: a digit below 0x4000 is the last
//! one, a digit `d` with more to come is written as 0x4000 + d. Both ranges are below the surrogates,
//! so every digit is a valid `char`; lengths under 128 take one byte, as in a byte varint. Pairs come
//! out smaller than the compact JSON they replace: three bytes of framing per short pair against the
//! JSON's quotes, colon and comma, and strings without their escapes.

use serde_json::Value;

use crate::model::Meta;

/// A digit at or above this has more digits after it.
const MORE: u32 = 0x4000;
const DIGIT_BITS: u32 = 14;

/// Appends `meta` to `out` as pairs; `json` is reused to serialize the values that are not strings.
pub(crate) fn encode(out: &mut String, meta: &Meta, json: &mut Vec<u8>) {
    for (key, value) in meta {
        push_len(out, key.len());
        out.push_str(key);
        match value {
            Value::String(s) => {
                push_len(out, s.len() << 1);
                out.push_str(s);
            }
            other => {
                json.clear();
                serde_json::to_writer(&mut *json, other).expect("a Value always serializes");
                let text = std::str::from_utf8(json).expect("JSON is UTF-8");
                push_len(out, (text.len() << 1) | 1);
                out.push_str(text);
            }
        }
    }
}

fn push_len(out: &mut String, mut n: usize) {
    while n >= MORE as usize {
        out.push(digit(MORE | (n as u32 & (MORE - 1))));
        n >>= DIGIT_BITS;
    }
    out.push(digit(n as u32));
}

fn digit(d: u32) -> char {
    char::from_u32(d).expect("digits stay below the surrogates")
}

/// A stored `meta`: its pairs in their original order. Empty when the entry had none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pairs<'a>(&'a str);

/// One stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PairValue<'a> {
    /// A JSON string, unescaped.
    Str(&'a str),
    /// Any other JSON value, as compact JSON.
    Json(&'a str),
}

impl<'a> Pairs<'a> {
    /// Pairs that [`encode`] wrote.
    pub(crate) fn new(encoded: &'a str) -> Pairs<'a> {
        Pairs(encoded)
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0.is_empty()
    }

    /// The size of the encoding in bytes.
    pub(crate) fn encoded_len(self) -> usize {
        self.0.len()
    }

    pub(crate) fn iter(self) -> PairsIter<'a> {
        PairsIter(self.0)
    }

    /// The value under a top-level `key`.
    pub(crate) fn get(self, key: &str) -> Option<PairValue<'a>> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The pairs as a [`Meta`], parsing the values that are not strings: for the detail view and `y`,
    /// once per key press.
    pub(crate) fn to_meta(self) -> Meta {
        let mut pairs = Vec::new();
        for (key, value) in self.iter() {
            pairs.push((key.to_owned(), value.to_value()));
        }
        // The keys were unique when encoded, so nothing is folded.
        pairs.into_iter().collect()
    }
}

impl<'a> PairValue<'a> {
    /// The value as it is stored: a string unescaped, anything else as compact JSON. What a search
    /// matches against, read in place.
    pub(crate) fn text(self) -> &'a str {
        match self {
            PairValue::Str(s) | PairValue::Json(s) => s,
        }
    }

    /// The value as serde_json's.
    pub(crate) fn to_value(self) -> Value {
        match self {
            PairValue::Str(s) => Value::String(s.to_owned()),
            PairValue::Json(json) => parse(json),
        }
    }

    /// Whether the value equals `want`, without parsing when it is a string or spelled the same.
    pub(crate) fn equals(self, want: &Value) -> bool {
        match (self, want) {
            (PairValue::Str(s), Value::String(w)) => s == w,
            (PairValue::Str(_), _) | (PairValue::Json(_), Value::String(_)) => false,
            // These have one spelling each.
            (PairValue::Json(json), Value::Bool(b)) => json == if *b { "true" } else { "false" },
            (PairValue::Json(json), Value::Null) => json == "null",
            // A number has more than one spelling of the same value (`0.0` and `-0.0`), an object
            // any order of its keys: only a parse can say.
            (PairValue::Json(json), _) => parse(json) == *want,
        }
    }
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).expect("stored JSON is what a Value wrote")
}

/// The pairs in order.
#[derive(Debug, Clone)]
pub(crate) struct PairsIter<'a>(&'a str);

impl<'a> Iterator for PairsIter<'a> {
    type Item = (&'a str, PairValue<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let key_len = read_len(&mut self.0);
        let (key, rest) = self.0.split_at(key_len);
        self.0 = rest;
        let tagged = read_len(&mut self.0);
        let (value, rest) = self.0.split_at(tagged >> 1);
        self.0 = rest;
        let value = if tagged & 1 == 1 {
            PairValue::Json(value)
        } else {
            PairValue::Str(value)
        };
        Some((key, value))
    }
}

fn read_len(text: &mut &str) -> usize {
    let mut n = 0;
    let mut shift = 0;
    for (at, c) in text.char_indices() {
        let d = c as usize;
        if d < MORE as usize {
            *text = &text[at + c.len_utf8()..];
            return n | d << shift;
        }
        n |= (d & (MORE as usize - 1)) << shift;
        shift += DIGIT_BITS;
    }
    unreachable!("encode ends every length with a last digit")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encoded(meta: &Meta) -> String {
        let mut out = String::new();
        encode(&mut out, meta, &mut Vec::new());
        out
    }

    fn meta(value: Value) -> Meta {
        value.as_object().unwrap().clone().into()
    }

    #[test]
    fn nested_values_come_back_whole_and_in_order() {
        let m = meta(json!({
            "z": 1, "user": {"id": 7, "tags": ["a", {"b": null}]}, "ok": true, "n": null,
            "f": -0.5, "big": 18446744073709551615u64, "s": "plain", "empty": "", "list": []
        }));
        let text = encoded(&m);
        let pairs = Pairs::new(&text);
        assert_eq!(pairs.to_meta(), m);
        assert_eq!(
            serde_json::to_string(&pairs.to_meta()).unwrap(),
            serde_json::to_string(&m).unwrap()
        );
        assert_eq!(
            pairs.get("user"),
            Some(PairValue::Json(r#"{"id":7,"tags":["a",{"b":null}]}"#))
        );
        assert_eq!(pairs.get("s"), Some(PairValue::Str("plain")));
        assert_eq!(pairs.get("empty"), Some(PairValue::Str("")));
        assert_eq!(pairs.get("id"), None, "only top-level keys");
        assert!(Pairs::default().is_empty() && Pairs::default().to_meta().is_empty());
    }

    #[test]
    fn strings_are_kept_raw_whatever_they_hold() {
        // Escapes, controls, quotes, bidi overrides and wide text are data here; the screen sanitizes.
        let hostile = "a\"b\\c\n\u{1b}]0;pwned\u{7}\u{202e}日本語🚀\u{0}";
        let m = meta(json!({ "ключ 🔑": hostile, "\u{1b}[2J": 1 }));
        let text = encoded(&m);
        let got: Vec<_> = Pairs::new(&text).iter().collect();
        assert_eq!(
            got,
            [
                ("ключ 🔑", PairValue::Str(hostile)),
                ("\u{1b}[2J", PairValue::Json("1"))
            ]
        );
    }

    #[test]
    fn long_values_and_keys_keep_their_lengths() {
        for n in [0, 127, 128, 8191, 8192, 16_383, 16_384, 300_000, 5_000_000] {
            let long = "x".repeat(n);
            let m: Meta = [
                (long.clone(), Value::String(long.clone())),
                ("k".into(), json!(n)),
            ]
            .into_iter()
            .collect();
            let text = encoded(&m);
            let pairs = Pairs::new(&text);
            assert_eq!(pairs.get(&long), Some(PairValue::Str(&long)), "length {n}");
            assert_eq!(pairs.get("k"), Some(PairValue::Json(&n.to_string())));
        }
    }

    #[test]
    fn pairs_are_no_bigger_than_compact_json() {
        let m = meta(json!({"requestId": "req_1a2b3c", "status": 200, "path": "/api/users/{id}"}));
        assert!(encoded(&m).len() < serde_json::to_string(&m).unwrap().len());
    }

    #[test]
    fn values_compare_as_json_values() {
        let m = meta(json!({"s": "req_1", "n": 12, "z": -0.0, "o": {"b": 2, "a": 1}, "t": true}));
        let text = encoded(&m);
        let p = Pairs::new(&text);
        let is = |key: &str, want: Value| p.get(key).unwrap().equals(&want);
        assert!(is("s", json!("req_1")) && !is("s", json!("req_12")) && !is("s", json!(1)));
        assert!(is("n", json!(12)) && !is("n", json!(123)) && !is("n", json!("12")));
        assert!(is("z", json!(0.0)));
        assert!(is("o", json!({"a": 1, "b": 2})));
        assert!(is("t", json!(true)) && !is("t", json!(false)) && !is("t", Value::Null));
    }
}
