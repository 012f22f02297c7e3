//! The commonest line of all, read in one pass: vg's own format, written compactly, every string
//! printable ASCII without escapes, every `meta` value a string, a number, a boolean or null.
//!
//! A reader that only displays lines (`vg logs --file`) spends most of its time building entries:
//! every string copied into its own allocation, `meta` turned into JSON values, all of it freed a
//! moment later. A [`FlatLine`] borrows everything from the line instead, and keeps each `meta`
//! value as its JSON text, which is already what the display line shows. Its strings hold nothing a
//! terminal would act on and take one column per byte, so they need no sanitizing either.
//!
//! It is exact or nothing: it accepts only lines the full decoder reads as native entries, with the
//! same timestamp, level and number parsers, and refuses anything else (whitespace between tokens,
//! an escape, a nested value, a repeated key, an unknown field...), which then goes to the full
//! decoder. So a line it reads shows exactly as its decoded entry would.

use chrono::{DateTime, Utc};

use crate::model::Level;
use crate::model::timestamp::parse_wire_timestamp;

/// The most `meta` pairs a flat line holds; a line with more goes to the full decoder.
pub const MAX_FLAT_META: usize = 32;

/// A line in vg's own format read in place (see the module's documentation).
#[derive(Debug, Clone)]
pub struct FlatLine<'a> {
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// The timestamp as the line has it: the wire's own form, which is how it displays in UTC.
    pub timestamp_text: &'a str,
    /// Severity.
    pub level: Level,
    /// The component that logged it.
    pub source: &'a str,
    /// The message (one line: a newline would be an escape).
    pub message: &'a str,
    /// The instance, when named.
    pub instance: Option<&'a str>,
    /// The region, when named.
    pub region: Option<&'a str>,
    /// The seq a server stamped, when the line has one.
    pub seq: Option<u64>,
    /// The text inside `meta`'s braces, checked: `"k":v` pairs separated by commas.
    meta: &'a str,
}

/// A `meta` value of a flat line, as its JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlatValue<'a> {
    /// A string, without its quotes (printable ASCII, no escapes).
    Str(&'a str),
    /// An integer, `true`, `false` or `null`: the text `serde_json::Value` displays for it.
    Literal(&'a str),
    /// Any other number, as serde_json reads it (its text is not what it displays).
    Number(serde_json::Number),
}

impl<'a> FlatLine<'a> {
    /// The line (without its line end) read flat, or `None` if it is anything else.
    pub fn of(line: &'a str) -> Option<FlatLine<'a>> {
        // Checked once for the whole line, so that a string's end is simply the next quote.
        if !plain_text(line.as_bytes()) {
            return None;
        }
        let mut at = Cursor { line, at: 0 };
        let mut flat = FlatLine {
            timestamp: DateTime::UNIX_EPOCH,
            timestamp_text: "",
            level: Level::Info,
            source: "",
            message: "",
            instance: None,
            region: None,
            seq: None,
            meta: "",
        };
        // Which of timestamp, level, source, message, meta, instance, region, seq were seen: a
        // repeated field fails the full decoder (it then reads the line as a foreign one).
        let mut seen = 0u8;
        at.eat(b'{')?;
        loop {
            let key = at.string()?;
            at.eat(b':')?;
            let field = match key {
                "timestamp" => {
                    flat.timestamp_text = at.string()?;
                    flat.timestamp = parse_wire_timestamp(flat.timestamp_text)?;
                    0
                }
                "level" => {
                    flat.level = Level::parse(at.string()?).ok()?;
                    1
                }
                "source" => {
                    flat.source = at.string()?;
                    2
                }
                "message" => {
                    flat.message = at.string()?;
                    3
                }
                "meta" => {
                    flat.meta = at.meta()?;
                    4
                }
                "instance" => {
                    flat.instance = at.optional_string()?;
                    5
                }
                "region" => {
                    flat.region = at.optional_string()?;
                    6
                }
                "seq" => {
                    if !at.null() {
                        // Above u64 the full decoder fails too: refused, and it says so.
                        flat.seq = Some(at.integer()?.parse().ok()?);
                    }
                    7
                }
                _ => return None,
            };
            if seen & (1 << field) != 0 {
                return None;
            }
            seen |= 1 << field;
            match at.next()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
        // The four required fields, and nothing after the object.
        (seen & 0b1111 == 0b1111 && at.at == line.len()).then_some(flat)
    }

    /// The `meta` pairs, in the line's order.
    pub fn meta(&self) -> FlatPairs<'a> {
        FlatPairs {
            at: Cursor {
                line: self.meta,
                at: 0,
            },
        }
    }

    /// Whether `meta` has no pairs.
    pub fn meta_is_empty(&self) -> bool {
        self.meta.is_empty()
    }
}

/// The `meta` pairs of a [`FlatLine`], read again from its checked text.
#[derive(Debug, Clone)]
pub struct FlatPairs<'a> {
    at: Cursor<'a>,
}

impl<'a> Iterator for FlatPairs<'a> {
    type Item = (&'a str, FlatValue<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let key = self.at.string()?;
        self.at.eat(b':')?;
        let value = self.at.value()?;
        // The comma between pairs; none after the last.
        self.at.eat(b',');
        Some((key, value))
    }
}

/// A position in a line being read.
#[derive(Debug, Clone)]
struct Cursor<'a> {
    line: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn next(&mut self) -> Option<u8> {
        let byte = *self.line.as_bytes().get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn peek(&self) -> Option<u8> {
        self.line.as_bytes().get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    /// A string, without its quotes (the line is plain text, so it ends at the next quote).
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let len = quote_at(&self.line.as_bytes()[self.at..])?;
        let text = &self.line[self.at..self.at + len];
        self.at += len + 1;
        Some(text)
    }

    /// `null`, consumed if it is next.
    fn null(&mut self) -> bool {
        let found = self.line.as_bytes()[self.at..].starts_with(b"null");
        if found {
            self.at += 4;
        }
        found
    }

    fn optional_string(&mut self) -> Option<Option<&'a str>> {
        if self.null() {
            Some(None)
        } else {
            self.string().map(Some)
        }
    }

    /// An integer serde_json reads as an `i64` or `u64` and displays as written: no leading zero,
    /// no `-0` (a float there), at most 18 digits (so it fits either way).
    fn integer(&mut self) -> Option<&'a str> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let digits = self.line.as_bytes()[self.at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let first = self.peek()?;
        let negative = self.at > start;
        if digits == 0 || digits > 18 || (first == b'0' && (digits > 1 || negative)) {
            return None;
        }
        self.at += digits;
        // A fraction or an exponent makes it a float, displayed differently.
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some(&self.line[start..self.at])
    }

    /// Any other JSON number (a fraction, an exponent, `-0`, many digits), read as serde_json reads
    /// it, so that it shows as `serde_json::Value` shows it (`1e3` as `1000.0`). One out of range
    /// (`1e400`) fails here as it fails there.
    fn number(&mut self) -> Option<serde_json::Number> {
        let len = self.line.as_bytes()[self.at..]
            .iter()
            .take_while(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            .count();
        let number = serde_json::from_str(&self.line[self.at..self.at + len]).ok()?;
        self.at += len;
        Some(number)
    }

    /// A `meta` object of scalar values, its keys unique; the text inside its braces.
    fn meta(&mut self) -> Option<&'a str> {
        self.eat(b'{')?;
        let start = self.at;
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Some("");
        }
        let mut keys = [""; MAX_FLAT_META];
        for len in 0.. {
            let key = self.string()?;
            self.eat(b':')?;
            self.value()?;
            // A repeated key is folded by the full decoder; rare enough to leave to it.
            if len == MAX_FLAT_META || keys[..len].iter().any(|k| same(k, key)) {
                return None;
            }
            keys[len] = key;
            match self.next()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
        Some(&self.line[start..self.at - 1])
    }

    /// A string, an integer, `true`, `false` or `null`.
    fn value(&mut self) -> Option<FlatValue<'a>> {
        Some(match self.peek()? {
            b'"' => FlatValue::Str(self.string()?),
            b't' | b'f' | b'n' => FlatValue::Literal(self.literal()?),
            _ => {
                let start = self.at;
                match self.integer() {
                    Some(text) => FlatValue::Literal(text),
                    None => {
                        self.at = start;
                        FlatValue::Number(self.number()?)
                    }
                }
            }
        })
    }

    fn literal(&mut self) -> Option<&'a str> {
        let rest = &self.line[self.at..];
        let word = ["true", "false", "null"]
            .into_iter()
            .find(|w| rest.starts_with(w))?;
        self.at += word.len();
        Some(word)
    }
}

/// `a == b`, most unequal keys told apart by their length and ends before comparing the rest.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.as_bytes().first() == b.as_bytes().first()
        && a.as_bytes().last() == b.as_bytes().last()
        && a == b
}

/// Whether every byte may stand in a JSON string as it is and reach a terminal as it is:
/// printable ASCII (0x20..=0x7e), no `\` (so no escape anywhere). Eight at a time.
fn plain_text(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let whole = words.by_ref().all(|word| {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        printable_ascii(word) && !has_byte(word, b'\\')
    });
    whole
        && words
            .remainder()
            .iter()
            .all(|&b| (0x20..0x7f).contains(&b) && b != b'\\')
}

/// Where the first `"` is, looking eight bytes at a time.
fn quote_at(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(word) = bytes.get(at..at + 8) {
        let found = bytes_equal(
            u64::from_le_bytes(word.try_into().expect("eight bytes")),
            b'"',
        );
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    bytes[at..].iter().position(|&b| b == b'"').map(|i| at + i)
}

/// The top bit of each byte of `word` that equals `byte`, and no other bit: exact, so the lowest
/// one set says where the first is.
fn bytes_equal(word: u64, byte: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = word ^ (ONES * u64::from(byte));
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// Whether `byte` is one of the eight in `word` (the classic zero-byte test on `word ^ byte`:
/// exact about whether there is one, not about where).
fn has_byte(word: u64, byte: u8) -> bool {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & TOPS != 0
}

const ONES: u64 = 0x0101_0101_0101_0101;
const TOPS: u64 = 0x8080_8080_8080_8080;

/// Whether all eight bytes of `word` are in 0x20..=0x7e. Exact: a byte at or above 0x80 shows in the
/// top bits; with none there, adding 1 to each byte carries into a top bit only for 0x7f, and the
/// borrow test flags a word with any byte below 0x20 (it may misplace which, never miss one).
pub(crate) fn printable_ascii(word: u64) -> bool {
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let del = word.wrapping_add(ONES);
    (word | below_space | del) & TOPS == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::decode::{LineKind, decode_line};

    const LINE: &str = r#"{"timestamp":"2026-02-05T18:00:00.123Z","level":"warn","source":"api","message":"GET /x 200","meta":{"path":"/x","status":200,"neg":-12,"ok":true,"gone":null,"note":"a b=c"},"instance":"148e7d2a","region":"ord","seq":9}"#;

    #[test]
    fn reads_vg_own_lines_in_place() {
        let flat = FlatLine::of(LINE).unwrap();
        assert_eq!(flat.timestamp_text, "2026-02-05T18:00:00.123Z");
        assert_eq!(
            (flat.level, flat.source, flat.message),
            (Level::Warn, "api", "GET /x 200")
        );
        assert_eq!(
            (flat.instance, flat.region),
            (Some("148e7d2a"), Some("ord"))
        );
        assert_eq!(
            flat.meta().collect::<Vec<_>>(),
            [
                ("path", FlatValue::Str("/x")),
                ("status", FlatValue::Literal("200")),
                ("neg", FlatValue::Literal("-12")),
                ("ok", FlatValue::Literal("true")),
                ("gone", FlatValue::Literal("null")),
                ("note", FlatValue::Str("a b=c")),
            ]
        );
    }

    #[test]
    fn every_line_it_reads_is_native_with_the_same_fields() {
        for (line, _) in edge_lines() {
            if let Some(flat) = FlatLine::of(&line) {
                let (entry, kind) = decode_line(&line, "d");
                assert_eq!(kind, LineKind::Native, "{line}");
                assert_eq!(
                    (flat.timestamp, flat.level, flat.source, flat.message),
                    (
                        entry.timestamp,
                        entry.level,
                        entry.source.as_str(),
                        entry.message.as_str()
                    ),
                    "{line}"
                );
                assert_eq!(flat.instance, entry.instance.as_deref(), "{line}");
                assert_eq!(flat.region, entry.region.as_deref(), "{line}");
                assert_eq!(flat.seq, entry.seq, "{line}");
                assert_eq!(flat.meta().count(), entry.meta.len(), "{line}");
                for ((key, value), (k, v)) in flat.meta().zip(entry.meta.iter()) {
                    assert_eq!(key, k, "{line}");
                    match value {
                        FlatValue::Str(s) => assert_eq!(v.as_str(), Some(s), "{line}"),
                        FlatValue::Literal(text) => assert_eq!(v.to_string(), text, "{line}"),
                        FlatValue::Number(n) => assert_eq!(v.as_number(), Some(&n), "{line}"),
                    }
                }
            }
        }
    }

    /// Lines at every edge of the flat form, built from [`LINE`] with one thing changed, and
    /// whether each is flat.
    pub(crate) fn edge_lines() -> Vec<(String, bool)> {
        let swaps: &[(&str, &str, bool)] = &[
            ("", "", true),
            (r#""seq":9"#, r#""seq":null"#, true),
            (r#""seq":9"#, r#""seq":-9"#, false),
            (r#""seq":9"#, r#""seq":09"#, false),
            (r#","seq":9"#, "", true),
            (r#""instance":"148e7d2a""#, r#""instance":null"#, true),
            (r#","instance":"148e7d2a","region":"ord""#, "", true),
            (r#""status":200"#, r#""status":0"#, true),
            (r#""status":200"#, r#""status":-0"#, true),
            (r#""status":200"#, r#""status":007"#, false),
            (r#""status":200"#, r#""status":2.5"#, true),
            (r#""status":200"#, r#""status":1e3"#, true),
            (r#""status":200"#, r#""status":1e400"#, false),
            (r#""status":200"#, r#""status":1.5.2"#, false),
            (r#""status":200"#, r#""status":-"#, false),
            (r#""status":200"#, r#""status":123456789012345678"#, true),
            (r#""status":200"#, r#""status":1234567890123456789"#, true),
            (r#""status":200"#, r#""status":-123456789012345678"#, true),
            (r#""status":200"#, r#""status":[1]"#, false),
            (r#""status":200"#, r#""status":{"a":1}"#, false),
            (r#""status":200"#, r#""status":tru"#, false),
            (r#""status":200"#, r#""status":nul"#, false),
            (r#""status":200"#, r#""path":2"#, false),
            (r#""status":200"#, r#""status" : 200"#, false),
            (r#""path":"/x""#, r#""path":"""#, true),
            (r#""path":"/x""#, r#""path":"a\"b""#, false),
            (r#""path":"/x""#, "\"path\":\"\u{7f}\"", false),
            (r#""path":"/x""#, "\"path\":\"\t\"", false),
            (r#""path":"/x""#, r#""path":"é""#, false),
            (r#""path":"/x""#, r#""pa\u0074h":"/x""#, false),
            (r#""meta":{"#, r#""meta":{},"m":{"#, false),
            (r#""meta":{"#, r#""meta":null,"m":{"#, false),
            ("GET /x 200", r"GET /x\n200", false),
            ("GET /x 200", r"GET /x\\200", false),
            ("GET /x 200", "", true),
            ("GET /x 200", "   ", true),
            (r#""level":"warn""#, r#""level":"WARNING""#, true),
            (r#""level":"warn""#, r#""level":" Err ""#, true),
            (r#""level":"warn""#, r#""level":"INFO+2""#, true),
            (r#""level":"warn""#, r#""level":30"#, false),
            (r#""level":"warn""#, r#""level":"loud""#, false),
            (
                r#""level":"warn""#,
                r#""level":"warn","level":"info""#,
                false,
            ),
            (r#""level":"warn","#, "", false),
            ("18:00:00.123Z", "18:00:00Z", false),
            ("18:00:00.123Z", "18:00:00.123+00:00", false),
            ("2026-02-05", "2026-02-30", false),
            ("18:00:00.123Z", "18:00:60.123Z", false),
            (r#""seq":9}"#, r#""seq":9} "#, false),
            (r#""seq":9}"#, r#""seq":9,}"#, false),
            (r#""seq":9}"#, r#""seq":9,"extra":1}"#, false),
            (r#""seq":9}"#, r#""seq":9"#, false),
            (r#"{"timestamp""#, r#" {"timestamp""#, false),
        ];
        swaps
            .iter()
            .map(|(from, to, flat)| (LINE.replacen(from, to, 1), *flat))
            .collect()
    }

    #[test]
    fn refuses_every_line_outside_the_flat_form() {
        for (line, flat) in edge_lines() {
            assert_eq!(FlatLine::of(&line).is_some(), flat, "{line}");
        }
    }

    /// Every way `vg logs` can show a line.
    fn formatters() -> Vec<crate::format::LineFormatter> {
        use crate::format::{LineFormatter, TimeMode};
        let mut all = Vec::new();
        for color in [false, true] {
            for time in [TimeMode::Utc, TimeMode::Local, TimeMode::Relative] {
                for (raw, single_line) in [(false, false), (true, false), (false, true)] {
                    for origin_width in [0, 30] {
                        all.push(LineFormatter {
                            color,
                            time,
                            raw,
                            single_line,
                            origin_width,
                        });
                    }
                }
            }
        }
        all
    }

    /// Whether `line`, if flat, shows exactly as its decoded entry does, in every formatter.
    fn shows_as_decoded(line: &str) -> Result<(), String> {
        let Some(flat) = FlatLine::of(line) else {
            return Ok(());
        };
        let (entry, kind) = decode_line(line, "d");
        if kind != LineKind::Native {
            return Err(format!("flat but decoded as {kind:?}: {line}"));
        }
        if flat.seq != entry.seq {
            return Err(format!(
                "seq {:?}, decoded {:?}: {line}",
                flat.seq, entry.seq
            ));
        }
        let now = entry.timestamp + chrono::Duration::seconds(90);
        for formatter in formatters() {
            let (mut decoded, mut read_flat) = (formatter, formatter);
            let (mut a, mut b) = (String::new(), String::new());
            decoded.write(&mut a, &entry, now);
            read_flat.write_flat(&mut b, &flat, now);
            if a != b || decoded.origin_width != read_flat.origin_width {
                return Err(format!("{formatter:?} shows {b:?}, not {a:?}: {line}"));
            }
        }
        Ok(())
    }

    #[test]
    fn a_flat_line_shows_exactly_as_its_entry() {
        for (line, _) in edge_lines() {
            shows_as_decoded(&line).unwrap();
        }
    }

    // Pieces of lines for the property below: flat ones, then ones that are not (mostly flat, so
    // that most lines are read flat and the rest show where the edge is).
    const STRINGS: (&[&str], &[&str]) = (
        &[
            r#""api""#,
            r#""""#,
            r#""a b""#,
            r#""k=v""#,
            r#""123456789abcdef""#,
            r#""/api/users?id=7&x=y""#,
        ],
        &[
            r#""a\"b""#,
            r#""tab\there""#,
            r#""é""#,
            "\"\u{1b}[2J\"",
            r#""\u001b[2J""#,
            "\"\u{202e}rtl\"",
            r#""line\nbreak""#,
        ],
    );
    const VALUES: (&[&str], &[&str]) = (
        &[
            "0",
            "7",
            "-7",
            "200",
            "123456789012345678",
            "-0",
            "1.5",
            "1e3",
            "-1.0e-3",
            "0.1",
            "12345678901234567890",
            "-9223372036854775809",
            "true",
            "false",
            "null",
            r#""v""#,
            r#""a b""#,
            r#""""#,
        ],
        &[
            "01",
            "1e400",
            "1.",
            "[]",
            "[1,\"a\"]",
            r#"{"n":{"m":1}}"#,
            r#""x\\y""#,
        ],
    );
    const KEYS: (&[&str], &[&str]) = (&["a", "method", "path", "a b", "k=v", "status"], &["a"]);
    const LEVELS: (&[&str], &[&str]) = (
        &[r#""info""#, r#""warn""#, r#""ERROR""#, r#""Warning""#],
        &["30", r#""loud""#, r#""""#],
    );
    const TIMES: (&[&str], &[&str]) = (
        &[
            r#""2026-02-05T18:00:00.123Z""#,
            r#""1999-12-31T23:59:59.999Z""#,
        ],
        &[
            r#""2026-02-05T18:00:00Z""#,
            r#""2026-02-05T20:00:00.5+02:00""#,
        ],
    );

    fn any_of(
        (flat, other): (&'static [&'static str], &'static [&'static str]),
    ) -> impl Strategy<Value = &'static str> {
        prop_oneof![
            9 => proptest::sample::select(flat),
            1 => proptest::sample::select(other),
        ]
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2000,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn any_line_flat_or_not_shows_as_its_entry(
            time in any_of(TIMES),
            level in any_of(LEVELS),
            source in any_of(STRINGS),
            message in any_of(STRINGS),
            meta in proptest::collection::vec((any_of(KEYS), any_of(VALUES)), 0..5),
            instance in proptest::option::of(any_of(STRINGS)),
            region in proptest::option::of(any_of(STRINGS)),
            seq in proptest::option::of(any_of(VALUES)),
            order in Just(()).prop_perturb(|_, mut rng| rng.random::<u64>()),
        ) {
            let mut fields = vec![
                format!(r#""timestamp":{time}"#),
                format!(r#""level":{level}"#),
                format!(r#""source":{source}"#),
                format!(r#""message":{message}"#),
            ];
            if !meta.is_empty() {
                let pairs: Vec<String> = meta.iter().map(|(k, v)| format!(r#""{k}":{v}"#)).collect();
                fields.push(format!(r#""meta":{{{}}}"#, pairs.join(",")));
            }
            fields.extend(instance.map(|i| format!(r#""instance":{i}"#)));
            fields.extend(region.map(|r| format!(r#""region":{r}"#)));
            fields.extend(seq.map(|s| format!(r#""seq":{s}"#)));
            // Mostly vg's own order, sometimes shuffled.
            if order % 4 == 0 {
                let by = (order / 4) as usize % fields.len();
                fields.rotate_left(by);
            }
            let line = format!("{{{}}}", fields.join(","));
            prop_assert!(shows_as_decoded(&line).is_ok(), "{}", shows_as_decoded(&line).unwrap_err());
        }
    }

    #[test]
    fn plain_text_and_quotes_are_exact_at_every_byte() {
        for byte in 0..=255u8 {
            let plain = (0x20..0x7f).contains(&byte) && byte != b'\\';
            for at in 0..17 {
                let mut bytes = vec![b'a'; 17];
                bytes[at] = byte;
                assert_eq!(plain_text(&bytes), plain, "{byte:#x} at {at}");
                let quote = (byte == b'"').then_some(at);
                assert_eq!(quote_at(&bytes), quote, "{byte:#x} at {at}");
                // A later quote does not hide the first.
                bytes.extend_from_slice(b"a\"a\"");
                assert_eq!(quote_at(&bytes), quote.or(Some(18)), "{byte:#x} at {at}");
            }
        }
    }
}
