//! Rows as the text that reaches the screen: sanitized, tabs expanded, columns padded by display width,
//! and wrapped exactly as they will be drawn.
//!
//! Everything from the log passes through [`crate::format`]'s sanitizer here, before any cell sees it,
//! so a message cannot move the cursor or forge a line. Widths are measured per grapheme with the same
//! rule ratatui uses to fill cells (zero-width graphemes dropped, wide ones taking two), so a CJK source
//! name or an emoji in a message cannot push the columns out of line, and the wrapped height the view
//! computes for scrolling is the height that is drawn. The view lays out only the rows it shows.

pub(crate) mod detail;

use chrono::{DateTime, Local, Utc};
use ratatui::buffer::CellWidth;
use regex::Regex;
use unicode_segmentation::UnicodeSegmentation;

use crate::client::SourceGap;
pub(crate) use crate::format::thousands;
use crate::format::{TimeMode, push_sanitized, sanitize, write_string_value, write_time};
use crate::model::Level;
use crate::tui::app::stored::{EntryRef, PairValue, Pairs};
pub(crate) use crate::tui::width::{is_printable_ascii, width};

/// What a piece of text is, which decides its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Time,
    Level(Level),
    Origin,
    Message,
    /// Part of a message that matches the search.
    Match,
    Meta,
    /// A meta field shown as a column of its own.
    Field,
    Gap,
    /// Labels in the detail view.
    Label,
    Plain,
}

/// A run of text of one class. The text holds no control characters and no tabs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) class: Class,
    pub(crate) text: String,
}

/// One screen line, or one unwrapped row.
pub(crate) type Line = Vec<Segment>;

fn seg(class: Class, text: impl Into<String>) -> Segment {
    Segment {
        class,
        text: text.into(),
    }
}

/// Tab stops in messages: every 4 columns, which keeps indented stack traces readable and narrow.
const TAB: usize = 4;

/// A `meta` field shown as a column of its own (`v`), and the column's width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldColumn {
    pub(crate) key: String,
    pub(crate) width: usize,
}

/// How rows are laid out at the current size and settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Columns {
    pub(crate) time: TimeMode,
    /// Time of day only, for narrow terminals.
    pub(crate) compact_time: bool,
    /// Width of the `source[instance] region` column; 0 hides it.
    pub(crate) origin_width: usize,
    /// Width of the meta-field columns when they come before the message; 0 otherwise.
    pub(crate) fields_before: usize,
    /// Where the meta-field columns start when they come after the message on unwrapped rows: at the
    /// right edge, so they line up. `None` puts them right after the rest of the row (wrapped rows).
    pub(crate) fields_at: Option<usize>,
    /// Characters of a message worth laying out: more could never be seen.
    pub(crate) max_chars: usize,
    /// "Now", for relative times.
    pub(crate) now: DateTime<Utc>,
}

impl Columns {
    /// The width of the time column, fixed per mode so rows line up.
    pub(crate) fn time_width(&self) -> usize {
        match (self.time, self.compact_time) {
            (TimeMode::Relative, _) => 8,
            (TimeMode::Utc, true) => 13,
            (TimeMode::Local, true) => 12,
            (TimeMode::Utc, false) => 24,
            (TimeMode::Local, false) => 23,
        }
    }

    /// Where the message starts: continuation lines of a wrapped row are indented to here.
    pub(crate) fn message_column(&self) -> usize {
        let origin = if self.origin_width > 0 {
            self.origin_width + 1
        } else {
            0
        };
        self.time_width() + 1 + 5 + 1 + origin + self.fields_before
    }

    fn write_time(&self, out: &mut String, ts: &DateTime<Utc>) {
        match (self.time, self.compact_time) {
            (TimeMode::Utc, true) => out.push_str(&ts.format("%H:%M:%S%.3fZ").to_string()),
            (TimeMode::Local, true) => {
                out.push_str(&ts.with_timezone(&Local).format("%H:%M:%S%.3f").to_string())
            }
            (mode, _) => write_time(out, ts, mode, self.now),
        }
    }
}

/// Pads `text` with spaces to exactly `columns`, or cuts it to fit with a trailing `…`.
pub(crate) fn fit(text: &str, columns: usize) -> String {
    let w = width(text);
    if w <= columns {
        let mut out = String::with_capacity(text.len() + columns - w);
        out.push_str(text);
        out.extend(std::iter::repeat_n(' ', columns - w));
        return out;
    }
    let mut out = String::new();
    let mut used = 0;
    for g in text.graphemes(true) {
        let gw = usize::from(g.cell_width());
        if used + gw + 1 > columns {
            break;
        }
        out.push_str(g);
        used += gw;
    }
    if columns > 0 {
        out.push('…');
        used += 1;
    }
    out.extend(std::iter::repeat_n(' ', columns.saturating_sub(used)));
    out
}

/// Sanitizes `text` and expands its tabs; `column` is where it starts and is advanced past it.
pub(crate) fn push_display(out: &mut String, text: &str, column: &mut usize) {
    let clean = sanitize(text);
    if clean
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        for (i, run) in clean.split('\t').enumerate() {
            if i > 0 {
                push_tab(out, column);
            }
            out.push_str(run);
            *column += run.len();
        }
        return;
    }
    for g in clean.graphemes(true) {
        if g == "\t" {
            push_tab(out, column);
        } else {
            out.push_str(g);
            *column += usize::from(g.cell_width());
        }
    }
}

fn push_tab(out: &mut String, column: &mut usize) {
    let n = TAB - *column % TAB;
    out.extend(std::iter::repeat_n(' ', n));
    *column += n;
}

/// `text` sanitized, with tabs expanded from column 0.
pub(crate) fn display(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_display(&mut out, text, &mut 0);
    out
}

/// At most `n` characters of `text`, and whether anything was cut.
fn prefix(text: &str, n: usize) -> (&str, bool) {
    match text.char_indices().nth(n) {
        Some((at, _)) => (&text[..at], true),
        None => (text, false),
    }
}

/// One log entry as a row: time, level, origin, message (with search matches marked), meta; the
/// chosen meta fields as aligned columns before or after the message (`before`), and not again
/// among the rest of meta. Only the rows on screen get this far, and nothing here parses: `meta` was
/// decoded when the entry arrived.
pub(crate) fn entry_line(
    entry: &EntryRef,
    cols: &Columns,
    search: Option<&Regex>,
    fields: &[FieldColumn],
    before: bool,
) -> Line {
    let mut line = Vec::with_capacity(8);
    let mut time = String::with_capacity(24);
    cols.write_time(&mut time, &entry.timestamp);
    line.push(seg(Class::Time, fit(&time, cols.time_width()) + " "));
    line.push(seg(
        Class::Level(entry.level),
        format!("{:<5}", entry.level.as_str()),
    ));
    line.push(seg(Class::Plain, " "));
    if cols.origin_width > 0 {
        line.push(seg(
            Class::Origin,
            fit_origin(entry, cols.origin_width) + " ",
        ));
    }
    if before {
        push_fields(&mut line, entry.meta, fields);
    }
    let (message, cut) = prefix(entry.message, cols.max_chars);
    push_message(&mut line, message, search);
    if cut {
        line.push(seg(Class::Meta, "…"));
    }
    let rest = meta_text(entry.meta, cols.max_chars, fields);
    if !rest.is_empty() {
        line.push(seg(Class::Meta, rest));
    }
    if !before && !fields.is_empty() {
        match cols.fields_at {
            Some(at) => {
                fit_line(&mut line, at.saturating_sub(1));
                line.push(seg(Class::Plain, " "));
            }
            None => line.push(seg(Class::Plain, "  ")),
        }
        push_fields(&mut line, entry.meta, fields);
    }
    line
}

/// Cuts `line` to `columns` (the last visible character becoming `…`) or pads it to them.
fn fit_line(line: &mut Line, columns: usize) {
    let mut used = 0;
    for i in 0..line.len() {
        let w = width(&line[i].text);
        if used + w > columns {
            line[i].text = fit(&line[i].text, columns - used);
            line.truncate(i + 1);
            return;
        }
        used += w;
    }
    line.push(seg(Class::Plain, " ".repeat(columns - used)));
}

/// The chosen fields' values, each padded or cut to its column and followed by a space; blank where
/// the entry has no such field.
fn push_fields(line: &mut Line, meta: Pairs<'_>, fields: &[FieldColumn]) {
    for column in fields {
        let value = meta
            .get(&column.key)
            .map_or(String::new(), |v| display(v.text()));
        line.push(seg(Class::Field, fit(&value, column.width) + " "));
    }
}

/// `source[instance] region` in exactly `columns`, as `vg logs` writes it (the instance id shortened).
/// When it does not fit, the source is cut first, so the instance and region, which tell a fleet's
/// copies of one source apart, stay readable.
fn fit_origin(entry: &EntryRef, columns: usize) -> String {
    let mut tail = String::new();
    if let Some(instance) = entry.instance {
        tail.push('[');
        tail.push_str(&crate::format::short_instance(instance));
        tail.push(']');
    }
    if let Some(region) = entry.region {
        tail.push(' ');
        tail.push_str(region);
    }
    let source = display(entry.source);
    let tail = display(&tail);
    let (source_width, tail_width) = (width(&source), width(&tail));
    if source_width + tail_width <= columns {
        fit(&(source + &tail), columns)
    } else if tail_width + 2 <= columns {
        let mut out = fit(&source, columns - tail_width);
        out.push_str(&tail);
        out
    } else {
        fit(&(source + &tail), columns)
    }
}

/// The message, split where the search matches so those parts can be highlighted.
fn push_message(line: &mut Line, message: &str, search: Option<&Regex>) {
    let mut column = 0;
    let mut last = 0;
    let part = |line: &mut Line, class, text: &str, column: &mut usize| {
        if !text.is_empty() {
            let mut out = String::with_capacity(text.len());
            push_display(&mut out, text, column);
            line.push(seg(class, out));
        }
    };
    if let Some(regex) = search {
        for m in regex.find_iter(message).filter(|m| !m.is_empty()) {
            part(line, Class::Message, &message[last..m.start()], &mut column);
            part(line, Class::Match, m.as_str(), &mut column);
            last = m.end();
        }
    }
    part(line, Class::Message, &message[last..], &mut column);
}

/// Meta as `key=value` pairs after two spaces, stopping once past `limit` bytes, and with any one key
/// or value cut at `limit` characters: what lies beyond could never be on screen, and a huge meta must
/// not slow a frame.
fn meta_text(meta: Pairs<'_>, limit: usize, columns: &[FieldColumn]) -> String {
    if meta.is_empty() {
        return String::new();
    }
    // About the size it will reach, so it is not grown a few bytes at a time.
    let mut out = String::with_capacity(meta.encoded_len().min(limit) + 16);
    let rest = meta
        .iter()
        .filter(|(key, _)| !columns.iter().any(|c| c.key == *key));
    for (i, (key, value)) in rest.enumerate() {
        if out.len() > limit {
            out.push_str(" …");
            break;
        }
        if i > 0 {
            out.push(' ');
        }
        let (key, key_cut) = prefix(key, limit);
        push_sanitized(&mut out, key);
        out.push_str(if key_cut { "…=" } else { "=" });
        let (text, cut) = match value {
            PairValue::Str(s) | PairValue::Json(s) => prefix(s, limit),
        };
        match value {
            PairValue::Str(_) => write_string_value(&mut out, text),
            // Compact JSON, exactly as `vg logs` shows a number or a nested value.
            PairValue::Json(_) => push_sanitized(&mut out, text),
        }
        if cut {
            out.push('…');
        }
    }
    if out.is_empty() {
        return out;
    }
    // Tab stops count from the start of the pairs, not of the row.
    let mut shown = String::with_capacity(out.len() + 2);
    shown.push_str("  ");
    push_display(&mut shown, &out, &mut 0);
    shown
}

/// A gap in the stream as a row, worded as `vg logs` words it: `... 1,234 entries missed (reason)`,
/// after the server's label when several are merged.
pub(crate) fn gap_line(
    gap: &SourceGap,
    at: &DateTime<Utc>,
    filtered: bool,
    cols: &Columns,
) -> Line {
    let mut time = String::with_capacity(24);
    cols.write_time(&mut time, at);
    vec![
        seg(Class::Time, fit(&time, cols.time_width()) + " "),
        seg(Class::Gap, format!("... {}", gap.describe(filtered))),
    ]
}

/// `1234567` as `1.2M`: for counts in tight places.
pub(crate) fn compact(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// Breaks a row into screen lines of at most `width` columns; continuation lines start with `indent`
/// spaces (dropped when it would leave less than a third of the width). Every line holds at least one grapheme, so a
/// character wider than the screen cannot stall it.
pub(crate) fn wrap(row: &[Segment], width: usize, indent: usize) -> Vec<Line> {
    let indent = if indent * 3 > width * 2 { 0 } else { indent };
    let mut lines = Vec::new();
    let mut line: Line = Vec::new();
    let mut used = 0;
    let mut start = 0;
    let mut fresh = false;
    for segment in row {
        let mut text = String::new();
        for g in segment.text.graphemes(true) {
            let gw = usize::from(g.cell_width());
            if gw == 0 {
                continue;
            }
            if used + gw > width && used > start {
                if !text.is_empty() {
                    line.push(seg(segment.class, std::mem::take(&mut text)));
                }
                lines.push(std::mem::take(&mut line));
                if indent > 0 {
                    line.push(seg(Class::Plain, " ".repeat(indent)));
                }
                used = indent;
                start = indent;
                fresh = true;
            }
            // Spaces at a break would only push the next line out of its column.
            if fresh && g == " " {
                continue;
            }
            fresh = false;
            text.push_str(g);
            used += gw;
        }
        if !text.is_empty() {
            line.push(seg(segment.class, text));
        }
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LogEntry;

    fn cols() -> Columns {
        Columns {
            time: TimeMode::Utc,
            compact_time: true,
            origin_width: 8,
            fields_before: 0,
            fields_at: None,
            max_chars: 1000,
            now: Utc::now(),
        }
    }

    fn entry(message: &str) -> LogEntry {
        serde_json::from_str(&format!(
            r#"{{"timestamp":"2026-02-05T18:13:38.000Z","level":"warn","source":"api","message":{},"meta":{{"k":"v w"}}}}"#,
            serde_json::to_string(message).unwrap()
        ))
        .unwrap()
    }

    fn line_of(entry: LogEntry, search: Option<&Regex>) -> Line {
        let (names, stored) = crate::tui::app::stored_alone(entry);
        entry_line(&stored.view(&names), &cols(), search, &[], false)
    }

    fn text(line: &[Segment]) -> String {
        line.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn a_row_reads_left_to_right_with_aligned_columns() {
        let line = line_of(entry("GET /users"), None);
        assert_eq!(
            text(&line),
            r#"18:13:38.000Z warn  api      GET /users  k="v w""#
        );
        assert_eq!(cols().message_column(), 13 + 1 + 5 + 1 + 9);
    }

    #[test]
    fn hostile_text_is_escaped_and_tabs_expand() {
        let line = line_of(entry("a\tb\u{1b}[2J\nforged\u{202e}"), None);
        let all = text(&line);
        assert!(all.contains(r"a   b\e[2J\nforged\u{202e}"), "{all}");
        assert!(!all.chars().any(|c| c.is_control()), "{all:?}");
    }

    fn with_meta(meta: &str) -> LogEntry {
        let mut e = entry("m");
        e.meta = serde_json::from_str(meta).unwrap();
        e
    }

    fn meta_of(line: &[Segment]) -> &str {
        let last = line.last().unwrap();
        assert_eq!(last.class, Class::Meta);
        &last.text
    }

    #[test]
    fn nested_meta_shows_as_compact_json_in_its_order() {
        let line = line_of(
            with_meta(
                r#"{"z":1.5,"user":{"id":7,"tags":["a",{"b":null}]},"ok":true,"n":null,"s":"a b","e":"","q":"x=y"}"#,
            ),
            None,
        );
        assert_eq!(
            meta_of(&line),
            r#"  z=1.5 user={"id":7,"tags":["a",{"b":null}]} ok=true n=null s="a b" e="" q="x=y""#
        );
    }

    #[test]
    fn unicode_meta_shows_as_written() {
        let line = line_of(with_meta(r#"{"ключ":"日本語🚀","emoji 🔑":"ok"}"#), None);
        assert_eq!(meta_of(&line), "  ключ=日本語🚀 emoji 🔑=ok");
    }

    #[test]
    fn hostile_meta_is_escaped_at_display_and_kept_raw_in_the_row() {
        let json = r#"{"k\u001b[2J":"v\u001b]0;pwned\u0007\u202eevil","nl":"a\r\nb","nested":{"x":"\u001b[8m"}}"#;
        let e = with_meta(json);
        let (names, stored) = crate::tui::app::stored_alone(e.clone());
        let line = entry_line(&stored.view(&names), &cols(), None, &[], false);
        let meta = meta_of(&line);
        // A bare value is escaped as a message is; a quoted one and a nested one as JSON escapes them.
        assert_eq!(
            meta,
            r#"  k\e[2J=v\e]0;pwned\x07\u{202e}evil nl="a\r\nb" nested={"x":"\u001b[8m"}"#
        );
        assert!(!meta.chars().any(|c| c.is_control()), "{meta:?}");
        // `y` and the detail view still get the bytes the source sent.
        assert_eq!(stored.view(&names).to_entry().to_json(), e.to_json());
    }

    #[test]
    fn a_huge_meta_value_is_cut_where_the_screen_ends() {
        let huge = "x".repeat(100_000);
        let line = line_of(with_meta(&format!(r#"{{"big":"{huge}","after":1}}"#)), None);
        let meta = meta_of(&line);
        assert!(meta.starts_with("  big=xxxx"), "{meta}");
        assert!(
            meta.len() < 1100,
            "cut near max_chars, not 100,000: {}",
            meta.len()
        );
        assert!(meta.ends_with("x… …"), "{}", &meta[meta.len() - 20..]);
    }

    #[test]
    fn search_matches_are_their_own_segments() {
        let re = Regex::new("o+").unwrap();
        let line = line_of(entry("foo boo\u{1b}"), Some(&re));
        let matches: Vec<&str> = line
            .iter()
            .filter(|s| s.class == Class::Match)
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(matches, ["oo", "oo"]);
        assert!(text(&line).contains(r"foo boo\e"));
    }

    #[test]
    fn wide_characters_are_measured_and_cut_by_cells() {
        assert_eq!(width("日本語"), 6);
        assert_eq!(width("🚀x"), 3);
        assert_eq!(fit("日本語のログ", 7), "日本語…");
        assert_eq!(width(&fit("日本語のログ", 8)), 8);
        assert_eq!(fit("ab", 4), "ab  ");
    }

    #[test]
    fn wrapping_respects_width_indent_and_wide_characters() {
        let row = vec![
            seg(Class::Time, "0123 "),
            seg(Class::Message, "日本語abcdef"),
        ];
        let lines = wrap(&row, 8, 2);
        let texts: Vec<String> = lines.iter().map(|l| text(l)).collect();
        assert_eq!(texts, ["0123 日", "  本語ab", "  cdef"]);
        assert!(lines.iter().all(|l| width(&text(l)) <= 8));
        // A column too narrow for one wide character still makes progress.
        assert_eq!(wrap(&[seg(Class::Message, "日本")], 1, 0).len(), 2);
    }

    #[test]
    fn counts_read_well() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(compact(45_678), "45.7k");
        assert_eq!(compact(2_500_000), "2.5M");
    }
}
