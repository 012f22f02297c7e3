//! What a plain-text line says about itself: the level it names and the time it starts with.
//!
//! Most `kubectl logs` output is plain text whose level is a word (`ERROR`, `[warn]`, glog's `W1202`,
//! logfmt's `level=error`, syslog's `<3>`) and whose time is a prefix. Reading both keeps
//! `--level warn` from dropping plain-text errors and orders entries by when they were written.
//!
//! Hot path: every plain line of `vg logs --file` passes here, so both readers look only at the
//! line's head, by hand (no regex), and give up at the first sign the pattern is not there. The line
//! itself stays the message, unchanged.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::model::{Level, LogEntry, Meta};

/// Level words look no further than this many bytes into a line: loggers put the level up front,
/// and a word deep in the message ("retrying after ERROR") is the message's, not the line's.
const HEAD_BYTES: usize = 160;
/// ... and no further than this many words.
const HEAD_WORDS: usize = 12;

/// Keys that name a level in `key=value` text.
const LEVEL_KEYS: &[&str] = &["level", "lvl", "severity", "loglevel"];

/// An upper-case word that is a level wherever it stands in the head. Lower-case ones count only in
/// brackets (`[error]`), since in prose "error" is usually just a word. Matched directly rather than
/// through [`Level::parse`], which lower-cases into a new string: this runs for every plain line.
fn upper_level(word: &str) -> Option<Level> {
    Some(match word {
        "TRACE" | "TRC" | "VERBOSE" => Level::Trace,
        "DEBUG" | "DBG" => Level::Debug,
        "INFO" | "INF" | "NOTICE" => Level::Info,
        "WARN" | "WARNING" | "WRN" => Level::Warn,
        "ERROR" | "ERR" | "SEVERE" => Level::Error,
        "FATAL" | "FTL" | "CRIT" | "CRITICAL" | "PANIC" | "EMERG" | "ALERT" => Level::Fatal,
        _ => return None,
    })
}

/// A plain-text line as an entry: the whole line is the message; the level it names (else `info`)
/// and the time it starts with (else now) are the entry's.
pub(crate) fn entry(line: &str, default_source: &str) -> LogEntry {
    LogEntry {
        // The clock is read only for lines that carry no time.
        timestamp: leading_time(line).unwrap_or_else(Utc::now),
        level: sniff_level(line).unwrap_or_default(),
        source: default_source.to_owned(),
        message: line.to_owned(),
        meta: Meta::new(),
        instance: None,
        region: None,
        seq: None,
    }
}

/// The level a plain-text line names, where loggers put one; `None` when it names none.
pub(crate) fn sniff_level(line: &str) -> Option<Level> {
    let bytes = line.as_bytes();
    // syslog's priority prefix: `<PRI>`, PRI = facility * 8 + severity.
    if let Some(rest) = line.strip_prefix('<') {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if (1..=3).contains(&digits) && rest.as_bytes().get(digits) == Some(&b'>') {
            let pri: u16 = rest[..digits].parse().ok()?;
            return Level::from_number(f64::from(pri % 8));
        }
    }
    // glog / klog: `E1202 18:13:38.123456 ...` (severity letter, month, day, time).
    if bytes.len() > 8
        && bytes[1..5].iter().all(u8::is_ascii_digit)
        && bytes[5] == b' '
        && bytes[6..8].iter().all(u8::is_ascii_digit)
    {
        match bytes[0] {
            b'I' => return Some(Level::Info),
            b'W' => return Some(Level::Warn),
            b'E' => return Some(Level::Error),
            b'F' => return Some(Level::Fatal),
            _ => {}
        }
    }
    let mut end = line.len().min(HEAD_BYTES);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    line[..end]
        .split_ascii_whitespace()
        .take(HEAD_WORDS)
        .find_map(word_level)
}

/// The level one whitespace-separated word names: `ERROR`, `[WARN]`, `INFO:`, `[error]`,
/// `level=warn`, `lvl="error"`.
fn word_level(word: &str) -> Option<Level> {
    // Most words name no level: their first byte says so before any other work.
    match word.as_bytes().first()? {
        b'l' | b's' => return keyed_level(word),
        b'L' | b'S' => {
            if let Some(level) = keyed_level(word) {
                return Some(level);
            }
        }
        b'[' | b'(' | b'<' | b'A'..=b'Z' => {}
        _ => return None,
    }
    let bracketed = word.starts_with(['[', '(', '<']);
    let word = word.trim_start_matches(['[', '(', '<']);
    let letters = word.bytes().take_while(u8::is_ascii_alphabetic).count();
    let (name, rest) = word.split_at(letters);
    // `ERROR:` and `[ERROR]` count; `ERRORS`, `INFO_LEVEL` and `WARN2` are other words.
    let ends = rest
        .bytes()
        .next()
        .is_none_or(|c| !c.is_ascii_alphanumeric() && c != b'_');
    if name.is_empty() || !ends {
        return None;
    }
    if let Some(level) = upper_level(name) {
        return Some(level);
    }
    // Lower or mixed case only in brackets, and only as a word (not glog's single letters).
    if bracketed && name.len() >= 3 && rest.starts_with([']', ')', '>']) {
        return Level::parse(name).ok();
    }
    None
}

/// `level=warn`, `lvl="error"`, `severity=ERROR`: the level after one of [`LEVEL_KEYS`].
fn keyed_level(word: &str) -> Option<Level> {
    let key = LEVEL_KEYS.iter().find(|k| {
        word.as_bytes().get(k.len()) == Some(&b'=') && word[..k.len()].eq_ignore_ascii_case(k)
    })?;
    let value = word[key.len() + 1..].trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if value.is_empty() {
        return None;
    }
    Level::parse(value).ok()
}

/// The time a plain-text line starts with: RFC 3339 and its near relatives (`2026-02-05 18:13:38,123`,
/// Go's `2026/02/05 18:13:38`), syslog's `Feb  5 18:13:38`, glog's `E0205 18:13:38.123456`, or epoch
/// seconds (`1770315218.5`) or milliseconds. A bracket before it (`[2026-02-05T18:13:38Z INFO app]`) is skipped. Times without a
/// zone are read as UTC, as servers log; syslog's and glog's, which have no year, as the latest such
/// time not in the future (with a day's grace for clock skew).
pub(crate) fn leading_time(line: &str) -> Option<DateTime<Utc>> {
    let head = after_priority(line.trim_start()).trim_start_matches('[');
    let first = *head.as_bytes().first()?;
    if first.is_ascii_digit() {
        date_time(head).or_else(|| epoch(head))
    } else if first.is_ascii_uppercase() {
        syslog_time(head, Utc::now).or_else(|| glog_time(head, Utc::now))
    } else {
        None
    }
}

/// The line after a syslog priority (`<PRI>`, and RFC 5424's version `1 ` after it), which comes
/// before the time; the line itself when it has none.
fn after_priority(line: &str) -> &str {
    let Some(rest) = line.strip_prefix('<') else {
        return line;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=3).contains(&digits) || rest.as_bytes().get(digits) != Some(&b'>') {
        return line;
    }
    let rest = &rest[digits + 1..];
    rest.strip_prefix("1 ").unwrap_or(rest)
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.,fraction][Z|±HH:MM|±HHMM]`, `/` allowed between the date's parts.
fn date_time(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() < 19
        || !matches!(b[4], b'-' | b'/')
        || b[7] != b[4]
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        number(&b[0..4])? as i32,
        number(&b[5..7])?,
        number(&b[8..10])?,
    )?;
    let (hour, minute, second) = (
        number(&b[11..13])?,
        number(&b[14..16])?,
        number(&b[17..19])?,
    );
    let mut at = 19;
    let mut nanos = 0u32;
    if matches!(b.get(at), Some(b'.' | b',')) {
        let digits = b[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        // Only the first nine digits fit in nanoseconds; more are precision nobody has.
        let kept = &b[at + 1..at + 1 + digits.min(9)];
        nanos = number(kept)? * 10u32.pow(9 - kept.len() as u32);
        at += 1 + digits;
    }
    let mut offset = 0i32;
    match b.get(at) {
        Some(b'Z' | b'z') => at += 1,
        Some(&sign @ (b'+' | b'-')) => {
            let hours = number(b.get(at + 1..at + 3)?)?;
            let colon = usize::from(b.get(at + 3) == Some(&b':'));
            let minutes = number(b.get(at + 3 + colon..at + 5 + colon)?)?;
            offset = (hours * 3600 + minutes * 60) as i32;
            if sign == b'-' {
                offset = -offset;
            }
            at += 5 + colon;
        }
        _ => {}
    }
    // The time must end there: `2026-02-05 18:13:38abc` is something else.
    if b.get(at).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    let naive = NaiveDateTime::new(
        date,
        chrono::NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?,
    );
    let zone = FixedOffset::east_opt(offset)?;
    Some(
        zone.from_local_datetime(&naive)
            .single()?
            .with_timezone(&Utc),
    )
}

/// Epoch seconds (10 digits, optionally with a fraction) or milliseconds (13 digits), followed by
/// a space or the end: other digit runs at the start of a line are counts or ids, not times.
fn epoch(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let whole = i64::try_from(number_u64(&b[..digits])?).ok()?;
    let (nanos, at) = match digits {
        10 if b.get(10) == Some(&b'.') => {
            let frac = b[11..].iter().take_while(|c| c.is_ascii_digit()).count();
            if frac == 0 {
                return None;
            }
            let kept = &b[11..11 + frac.min(9)];
            let nanos = i64::from(number(kept)?) * 10i64.pow(9 - kept.len() as u32);
            (whole.checked_mul(1_000_000_000)? + nanos, 11 + frac)
        }
        10 => (whole.checked_mul(1_000_000_000)?, 10),
        13 => (whole.checked_mul(1_000_000)?, 13),
        _ => return None,
    };
    if b.get(at).is_some_and(|c| !c.is_ascii_whitespace()) {
        return None;
    }
    Some(Utc.timestamp_nanos(nanos))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// syslog's (RFC 3164) `Mmm dd HH:MM:SS`, the day padded with a space or a zero.
fn syslog_time(text: &str, now: impl Fn() -> DateTime<Utc>) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() < 15 || b[3] != b' ' || b[6] != b' ' || b[9] != b':' || b[12] != b':' {
        return None;
    }
    let month = MONTHS.iter().position(|m| m.as_bytes() == &b[..3])? as u32 + 1;
    let day = match b[4] {
        b' ' => number(&b[5..6])?,
        _ => number(&b[4..6])?,
    };
    let (hour, minute, second) = (number(&b[7..9])?, number(&b[10..12])?, number(&b[13..15])?);
    if b.get(15).is_some_and(|c| !c.is_ascii_whitespace()) {
        return None;
    }
    latest_not_future(now, |year| {
        NaiveDate::from_ymd_opt(year, month, day)?
            .and_hms_opt(hour, minute, second)
            .map(|t| Utc.from_utc_datetime(&t))
    })
}

/// glog's and Kubernetes' klog's `Lmmdd hh:mm:ss.uuuuuu`, after the severity letter; like syslog's,
/// without a year.
fn glog_time(text: &str, now: impl Fn() -> DateTime<Utc>) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() < 14
        || !matches!(b[0], b'I' | b'W' | b'E' | b'F')
        || b[5] != b' '
        || b[8] != b':'
        || b[11] != b':'
    {
        return None;
    }
    let (month, day) = (number(&b[1..3])?, number(&b[3..5])?);
    let (hour, minute, second) = (number(&b[6..8])?, number(&b[9..11])?, number(&b[12..14])?);
    let mut nanos = 0;
    if b.get(14) == Some(&b'.') {
        let digits = b[15..].iter().take_while(|c| c.is_ascii_digit()).count();
        let kept = &b[15..15 + digits.min(9)];
        if !kept.is_empty() {
            nanos = number(kept)? * 10u32.pow(9 - kept.len() as u32);
        }
    }
    latest_not_future(now, |year| {
        NaiveDate::from_ymd_opt(year, month, day)?
            .and_hms_nano_opt(hour, minute, second, nanos)
            .map(|t| Utc.from_utc_datetime(&t))
    })
}

/// For a time written without its year: this year's, unless that is still to come (December's lines
/// read in January), with a day's grace for clock skew. The clock is read only once the line has
/// shown the shape.
fn latest_not_future(
    now: impl Fn() -> DateTime<Utc>,
    at: impl Fn(i32) -> Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let now = now();
    match at(now.year()) {
        Some(t) if t <= now + Duration::days(1) => Some(t),
        _ => at(now.year() - 1),
    }
}

/// ASCII digits as a number; `None` if any byte is not a digit.
fn number(digits: &[u8]) -> Option<u32> {
    u32::try_from(number_u64(digits)?).ok()
}

fn number_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::format_timestamp;

    #[test]
    fn levels_where_loggers_write_them() {
        let cases: &[(&str, Option<Level>)] = &[
            ("ERROR something broke", Some(Level::Error)),
            ("[WARN] disk almost full", Some(Level::Warn)),
            (
                "W1202 18:13:38.123456    1 reflector.go:138] watch failed",
                Some(Level::Warn),
            ),
            (
                "E1202 18:13:38.123456    1 main.go:1] boom",
                Some(Level::Error),
            ),
            (
                "I1202 18:13:38.123456    1 main.go:1] ok",
                Some(Level::Info),
            ),
            (
                "time=2026-02-05T18:13:38Z level=error msg=boom",
                Some(Level::Error),
            ),
            (r#"ts=1 lvl="warn" msg="slow""#, Some(Level::Warn)),
            ("Level=WARNING disk", Some(Level::Warn)),
            ("SEVERITY=error x", Some(Level::Error)),
            ("status=500 level= msg=x", None),
            ("<3>kernel: oops", Some(Level::Error)),
            ("<12>app: careful", Some(Level::Warn)),
            ("<30>systemd: started", Some(Level::Info)),
            (
                "2026-02-05 18:13:38,123 [main] ERROR com.example.App - boom",
                Some(Level::Error),
            ),
            (
                "2026/02/05 18:13:38 [error] 12#0: upstream timed out",
                Some(Level::Error),
            ),
            (
                "[2026-02-05T18:13:38Z DEBUG hyper::proto] flushed",
                Some(Level::Debug),
            ),
            (
                "2026-02-05T18:13:38.123456Z  INFO app: listening",
                Some(Level::Info),
            ),
            ("WARNING:root:low disk", Some(Level::Warn)),
            (
                "E, [2026-02-05T18:13:38.123 #12] ERROR -- : boom",
                Some(Level::Error),
            ),
            ("panic: runtime error: index out of range", None),
            ("plain words about an error", None),
            ("INFO_LEVEL is a constant", None),
            ("ERRORS: 0", None),
            ("[e] single letters need glog's shape", None),
            ("GET /api/users 200 12ms", None),
            ("", None),
        ];
        for (line, want) in cases {
            assert_eq!(sniff_level(line), *want, "{line:?}");
        }
    }

    #[test]
    fn a_level_deep_in_the_message_is_the_message_s() {
        let line = format!("{} ERROR", "word ".repeat(20));
        assert_eq!(sniff_level(&line), None);
        // A multi-byte character at the head's edge does not split.
        let line = format!("{}é ERROR", "x".repeat(HEAD_BYTES - 1));
        assert_eq!(sniff_level(&line), None);
    }

    fn time(line: &str) -> Option<String> {
        leading_time(line).map(|t| format_timestamp(&t))
    }

    #[test]
    fn leading_times_in_the_common_shapes() {
        let want = Some("2026-02-05T18:13:38.123Z".to_owned());
        for line in [
            "2026-02-05T18:13:38.123Z GET /",
            "2026-02-05T19:13:38.123+01:00 GET /",
            "2026-02-05T13:13:38.123456789-0500 GET /",
            "2026-02-05 18:13:38,123 INFO started",
            "2026-02-05 18:13:38.123 INFO started",
            "[2026-02-05T18:13:38.123Z INFO app] started",
            "1770315218.123 started",
            "1770315218123 started",
        ] {
            assert_eq!(time(line), want, "{line}");
        }
        assert_eq!(
            time("2026/02/05 18:13:38 [error] x").as_deref(),
            Some("2026-02-05T18:13:38.000Z")
        );
        assert_eq!(
            time("1770315218").as_deref(),
            Some("2026-02-05T18:13:38.000Z")
        );
        // After a syslog priority: RFC 5424's (with its version) and RFC 3164's.
        assert_eq!(
            time("<34>1 2026-02-05T18:13:38.123Z host app 12 - - boom").as_deref(),
            Some("2026-02-05T18:13:38.123Z")
        );
        assert!(time("<3>Feb  5 18:13:38 host app: boom").is_some());
        assert_eq!(time("<3> no time here"), None);
    }

    #[test]
    fn things_that_only_look_like_times_are_not() {
        for line in [
            "2026-02-05 is the release date",
            "2026-13-05 18:13:38 bad month",
            "2026-02-05T18:13:38abc",
            "2026-02-05 18:13:38. no fraction",
            "12345 rows copied",
            "17703152180 eleven digits",
            "1770315218x",
            "Febuary 5 18:13:38",
            "plain words",
            "",
        ] {
            assert_eq!(time(line), None, "{line}");
        }
    }

    #[test]
    fn yearless_times_take_the_latest_year_not_in_the_future() {
        let now = Utc.with_ymd_and_hms(2026, 2, 10, 0, 0, 0).unwrap();
        let t = |line| syslog_time(line, || now).map(|t| format_timestamp(&t));
        assert_eq!(
            t("Feb  5 18:13:38 host sshd[12]: accepted").as_deref(),
            Some("2026-02-05T18:13:38.000Z")
        );
        assert_eq!(
            t("Dec 31 23:59:59 host cron: ran").as_deref(),
            Some("2025-12-31T23:59:59.000Z")
        );
        assert_eq!(
            t("Feb 05 18:13:38 x").as_deref(),
            Some("2026-02-05T18:13:38.000Z")
        );
        assert_eq!(t("Feb 30 18:13:38 x"), None);
        let g = |line| glog_time(line, || now).map(|t| format_timestamp(&t));
        assert_eq!(
            g("E0205 18:13:38.123456    1 main.go:1] boom").as_deref(),
            Some("2026-02-05T18:13:38.123Z")
        );
        assert_eq!(
            g("I1231 23:59:59 x").as_deref(),
            Some("2025-12-31T23:59:59.000Z")
        );
        assert_eq!(g("X0205 18:13:38 x"), None);
        assert_eq!(g("E1302 18:13:38 x"), None);
        assert_eq!(t("Foo  5 18:13:38 x"), None);
    }
}
