//! Durations (`30s`, `10m`, `1h30m`) and points in time (RFC 3339, a date, or a duration ago).

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use crate::model::decode::parse_time_value;

/// A duration or time that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} '{value}': use {accepted}")]
pub struct TimeError {
    what: &'static str,
    value: String,
    accepted: &'static str,
}

const DURATION_FORMS: &str =
    "a number with a unit: 500ms, 30s, 10m, 2h, 1d, 1w, or combined like 1h30m";

/// Parses `500ms`, `30s`, `10m`, `2h`, `1d`, `1w` and combinations such as `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, TimeError> {
    let err = || TimeError {
        what: "duration",
        value: text.to_owned(),
        accepted: DURATION_FORMS,
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(err());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().map_err(|_| err())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" | "hr" | "hrs" => 3600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            _ => return Err(err()),
        };
        rest = &rest[unit_len..];
        total += Duration::try_from_secs_f64(number * seconds).map_err(|_| err())?;
    }
    Ok(total)
}

/// Parses a point in time: RFC 3339 (`2026-02-05T18:13:38Z`), a date (`2026-02-05`, midnight UTC),
/// epoch seconds/ms, or a duration meaning that long before `now` (`10m`).
pub fn parse_instant(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeError> {
    let trimmed = text.trim();
    if let Ok(ago) = parse_duration(trimmed) {
        let ago = chrono::Duration::from_std(ago).map_err(|_| instant_error(text))?;
        return now
            .checked_sub_signed(ago)
            .ok_or_else(|| instant_error(text));
    }
    if let Ok(date) = NaiveDate::parse_from_str(trimmed, "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    parse_time_value(&serde_json::Value::String(trimmed.to_owned()))
        .ok_or_else(|| instant_error(text))
}

fn instant_error(text: &str) -> TimeError {
    TimeError {
        what: "time",
        value: text.to_owned(),
        accepted: "RFC 3339 (2026-02-05T18:13:38Z), a date (2026-02-05), or a duration ago (30s, 10m, 2h, 1d)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        let err = parse_duration("soon").unwrap_err().to_string();
        assert!(err.starts_with("invalid duration 'soon': use"), "{err}");
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn instants() {
        let now = parse_instant("2026-02-05T18:13:38Z", Utc::now()).unwrap();
        assert_eq!(
            parse_instant("10m", now).unwrap(),
            now - chrono::Duration::minutes(10)
        );
        assert_eq!(
            parse_instant("2026-02-05", now).unwrap().to_rfc3339(),
            "2026-02-05T00:00:00+00:00"
        );
        assert_eq!(
            parse_instant("2026-02-05T19:13:38+01:00", now).unwrap(),
            now
        );
        let err = parse_instant("last tuesday", now).unwrap_err().to_string();
        assert!(
            err.starts_with("invalid time 'last tuesday': use RFC 3339"),
            "{err}"
        );
    }
}
