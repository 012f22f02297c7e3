//! The detail of one entry as screen lines: every field labelled, a multi-line message kept as its
//! lines, `meta` as an aligned table of keys and values with nested objects and arrays expanded into
//! dotted paths (`user.plan`, `tags[0]`). Sanitized line by line, so a newline in a message is a real line break
//! here (it is the message's own structure) while every other control character stays visible.

use chrono::{DateTime, Local, Utc};

use super::{Class, Line, Segment, display, wrap};
use crate::format::{TimeMode, write_time};
use crate::model::{LogEntry, format_timestamp};

/// More lines than anyone scrolls through; a pathological entry stops here instead of costing every
/// frame.
const MAX_LINES: usize = 20_000;

const LABEL: usize = 10;

fn label(name: &str) -> Segment {
    Segment {
        class: Class::Label,
        text: format!("{name:<LABEL$}"),
    }
}

fn field(lines: &mut Vec<Line>, name: &str, class: Class, value: &str, width: usize) {
    let row = vec![
        label(name),
        Segment {
            class,
            text: display(value),
        },
    ];
    lines.extend(wrap(&row, width, LABEL));
}

fn block(lines: &mut Vec<Line>, name: &str, body: &str, class: Class, width: usize) {
    lines.push(vec![label(name)]);
    for raw in body.split('\n') {
        if lines.len() >= MAX_LINES {
            lines.push(vec![Segment {
                class: Class::Meta,
                text: "  … (cut here; `y` copies all of it)".into(),
            }]);
            return;
        }
        let row = vec![Segment {
            class,
            text: format!("  {}", display(raw.strip_suffix('\r').unwrap_or(raw))),
        }];
        lines.extend(wrap(&row, width, 2));
    }
}

/// The furthest `lines` lines scroll in a pane `height` lines tall: the last page full, the last
/// line at the bottom. The keys and the drawing both use it, so the `N/M` indicator (the last line
/// on screen) reads `M/M` exactly when the keys stop.
pub(crate) fn max_scroll(lines: usize, height: usize) -> usize {
    lines.saturating_sub(height)
}

/// The lines of the time field: the one part of the detail that moves while it is open (the relative
/// time), so the only part laid out again for each frame.
pub(crate) fn time_lines(entry: &LogEntry, now: DateTime<Utc>, width: usize) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut relative = String::new();
    write_time(&mut relative, &entry.timestamp, TimeMode::Relative, now);
    let time = format!(
        "{}  ·  local {}  ·  {relative}",
        format_timestamp(&entry.timestamp),
        entry
            .timestamp
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S%.3f %:z"),
    );
    field(&mut lines, "time", Class::Time, &time, width);
    lines
}

/// Every line after the time field, wrapped to `width`. Laid out when the detail opens and when the
/// width changes, not for each frame: a long entry is thousands of lines, `meta` expanded row by row.
pub(crate) fn body(entry: &LogEntry, width: usize) -> Vec<Line> {
    let mut lines = Vec::new();
    field(
        &mut lines,
        "level",
        Class::Level(entry.level),
        entry.level.as_str(),
        width,
    );
    field(&mut lines, "source", Class::Origin, &entry.source, width);
    if let Some(instance) = &entry.instance {
        field(&mut lines, "instance", Class::Origin, instance, width);
    }
    if let Some(region) = &entry.region {
        field(&mut lines, "region", Class::Origin, region, width);
    }
    if let Some(seq) = entry.seq {
        field(&mut lines, "seq", Class::Plain, &seq.to_string(), width);
    }
    block(&mut lines, "message", &entry.message, Class::Message, width);
    if !entry.meta.is_empty() {
        meta_table(&mut lines, entry, width);
    }
    lines
}

/// Keys wider than this do not widen the key column; their value follows after two spaces.
const MAX_KEY: usize = 32;

/// `meta` as `key  value` rows, keys padded to one column.
fn meta_table(lines: &mut Vec<Line>, entry: &LogEntry, width: usize) {
    let mut rows = Vec::new();
    for (key, value) in entry.meta.iter() {
        flatten(&mut rows, display(key), value);
    }
    let column = rows
        .iter()
        .map(|(k, _)| super::width(k))
        .filter(|w| *w <= MAX_KEY)
        .max()
        .unwrap_or(0);
    lines.push(vec![label("meta")]);
    for (key, value) in rows {
        if lines.len() >= MAX_LINES {
            lines.push(vec![Segment {
                class: Class::Meta,
                text: "  … (cut here; `y` copies all of it)".into(),
            }]);
            return;
        }
        let pad = column.saturating_sub(super::width(&key));
        let row = vec![
            Segment {
                class: Class::Label,
                text: format!("  {key}{}  ", " ".repeat(pad)),
            },
            Segment {
                class: Class::Meta,
                text: value,
            },
        ];
        lines.extend(wrap(&row, width, column + 4));
    }
}

/// One row per scalar: objects and arrays open into `path.key` and `path[i]`; a string shows as
/// itself (sanitized), anything else as its JSON.
fn flatten(rows: &mut Vec<(String, String)>, path: String, value: &serde_json::Value) {
    use serde_json::Value;
    if rows.len() >= MAX_LINES {
        return;
    }
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, value) in map {
                flatten(rows, format!("{path}.{}", display(key)), value);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, value) in items.iter().enumerate() {
                flatten(rows, format!("{path}[{i}]"), value);
            }
        }
        Value::String(s) => rows.push((path, display(s))),
        other => rows.push((path, display(&other.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(entry: &LogEntry, now: DateTime<Utc>, width: usize) -> Vec<Line> {
        let mut lines = time_lines(entry, now, width);
        lines.extend(body(entry, width));
        lines
    }

    fn texts(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                l.iter()
                    .map(|s| s.text.as_str())
                    .collect::<String>()
                    .trim_end()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn meta_is_an_aligned_table_with_nested_values_expanded() {
        let entry: LogEntry = serde_json::from_str(
            r#"{"timestamp":"2026-02-05T18:13:38.000Z","level":"info","source":"api","message":"m","meta":{"requestId":"req_9","user":{"id":7,"plan":"pro","flags":{}},"tags":["a",{"b":null}],"note":"two\nlines","ok":true}}"#,
        )
        .unwrap();
        let all = texts(&body(&entry, 100));
        let meta = all.iter().position(|l| l == "meta").unwrap();
        assert_eq!(
            all[meta + 1..],
            [
                "  requestId   req_9",
                "  user.id     7",
                "  user.plan   pro",
                "  user.flags  {}",
                "  tags[0]     a",
                "  tags[1].b   null",
                r"  note        two\nlines",
                "  ok          true",
            ]
        );
    }

    #[test]
    fn multi_line_messages_and_meta_keep_their_shape_but_not_their_controls() {
        let entry: LogEntry = serde_json::from_str(
            r#"{"timestamp":"2026-02-05T18:13:38.000Z","level":"error","source":"api","message":"panic: boom\n\tat main.rs:3\r\n\u001b]0;pwned\u0007","meta":{"user":{"id":7}},"seq":9}"#,
        )
        .unwrap();
        let now = entry.timestamp + chrono::Duration::seconds(5);
        let all = texts(&lines(&entry, now, 100));
        assert!(all[0].starts_with("time      2026-02-05T18:13:38.000Z  ·  local "));
        assert!(all[0].ends_with("·  5s ago"));
        let message = all.iter().position(|l| l == "message").unwrap();
        assert_eq!(
            all[message + 1..message + 4],
            ["  panic: boom", "      at main.rs:3", r"  \e]0;pwned\x07"]
        );
        let meta = all.iter().position(|l| l == "meta").unwrap();
        assert_eq!(all[meta + 1..], ["  user.id  7"]);
        assert!(all.contains(&"seq       9".to_owned()));
    }
}
