//! Severity levels and the many spellings real loggers use for them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How severe an entry is, from `Trace` (least) to `Fatal` (most).
///
/// Ordering follows severity, so `level >= Level::Warn` means "warn or worse".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    /// Very fine-grained diagnostics.
    Trace,
    /// Diagnostics for developers.
    Debug,
    /// Normal operation.
    #[default]
    Info,
    /// Something unexpected that the app survived.
    Warn,
    /// An operation failed.
    Error,
    /// The process or a critical component cannot continue.
    Fatal,
}

/// A level name that vg does not recognise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown level '{0}': use trace, debug, info, warn, error or fatal (aliases like WARNING, err, critical and pino numbers 10..60 work too)"
)]
pub struct UnknownLevel(pub String);

impl Level {
    /// Every level, least severe first.
    pub const ALL: [Level; 6] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
        Level::Fatal,
    ];

    /// The canonical lowercase name, as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }

    /// Position in [`Level::ALL`], handy for per-level counters.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Maps a numeric level: pino/bunyan (10..=60) or syslog severities (0..=7).
    pub fn from_number(n: f64) -> Option<Level> {
        if !n.is_finite() || n < 0.0 {
            return None;
        }
        if n < 8.0 {
            // syslog: 0 emerg, 1 alert, 2 crit, 3 err, 4 warning, 5 notice, 6 info, 7 debug
            return Some(match n as u8 {
                0..=2 => Level::Fatal,
                3 => Level::Error,
                4 => Level::Warn,
                5 | 6 => Level::Info,
                _ => Level::Debug,
            });
        }
        Some(match n {
            n if n < 10.0 => return None,
            n if n < 20.0 => Level::Trace,
            n if n < 30.0 => Level::Debug,
            n if n < 40.0 => Level::Info,
            n if n < 50.0 => Level::Warn,
            n if n < 60.0 => Level::Error,
            _ => Level::Fatal,
        })
    }

    /// Parses any of the names real loggers write, case-insensitively.
    ///
    /// Accepts the canonical names, common aliases (`WARNING`, `err`, `critical`, `panic`, `notice`,
    /// `verbose`, single letters as glog writes them), Go slog offsets (`INFO+2`) and numbers.
    pub fn parse(text: &str) -> Result<Level, UnknownLevel> {
        // vg's own names, as every line vg writes has them: no trimming or lowercasing needed.
        if let Some(level) = Level::ALL.into_iter().find(|l| l.as_str() == text) {
            return Ok(level);
        }
        let trimmed = text.trim();
        // Go's slog writes levels between the named ones as `INFO+2` / `DEBUG-4`.
        let name = trimmed
            .split_once(['+', '-'])
            .filter(|(head, _)| !head.is_empty())
            .map_or(trimmed, |(head, _)| head);
        let level = match name.to_ascii_lowercase().as_str() {
            "trace" | "trc" | "trce" | "verbose" | "verb" | "vrb" | "finest" | "finer" | "t" => {
                Level::Trace
            }
            "debug" | "dbg" | "debu" | "dbug" | "fine" | "config" | "d" => Level::Debug,
            "info" | "inf" | "information" | "informational" | "notice" | "log" | "i" | "n" => {
                Level::Info
            }
            "warn" | "warning" | "wrn" | "wrng" | "w" => Level::Warn,
            "error" | "err" | "eror" | "erro" | "severe" | "e" => Level::Error,
            "fatal" | "ftl" | "fata" | "crit" | "critical" | "panic" | "dpanic" | "emerg"
            | "emergency" | "alert" | "f" | "c" => Level::Fatal,
            other => other
                .parse::<f64>()
                .ok()
                .and_then(Level::from_number)
                .ok_or_else(|| UnknownLevel(trimmed.to_owned()))?,
        };
        Ok(level)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Level {
    type Err = UnknownLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::parse(s)
    }
}

impl Serialize for Level {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Level;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a level name or number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Level, E> {
                Level::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Level, E> {
                self.visit_f64(v as f64)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Level, E> {
                self.visit_f64(v as f64)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Level, E> {
                Level::from_number(v).ok_or_else(|| E::custom(UnknownLevel(v.to_string())))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alias_maps_to_its_level() {
        let cases: &[(&str, Level)] = &[
            ("trace", Level::Trace),
            ("TRACE", Level::Trace),
            ("verbose", Level::Trace),
            ("Verbose", Level::Trace),
            ("debug", Level::Debug),
            ("DBG", Level::Debug),
            ("DEBUG-4", Level::Debug),
            ("info", Level::Info),
            ("INFO", Level::Info),
            ("Information", Level::Info),
            ("notice", Level::Info),
            ("INFO+2", Level::Info),
            ("warn", Level::Warn),
            ("WARNING", Level::Warn),
            ("Warning", Level::Warn),
            ("wrn", Level::Warn),
            ("error", Level::Error),
            ("err", Level::Error),
            ("ERROR", Level::Error),
            ("eror", Level::Error),
            ("severe", Level::Error),
            ("fatal", Level::Fatal),
            ("critical", Level::Fatal),
            ("CRIT", Level::Fatal),
            ("panic", Level::Fatal),
            ("dpanic", Level::Fatal),
            ("emerg", Level::Fatal),
            ("10", Level::Trace),
            ("20", Level::Debug),
            ("30", Level::Info),
            ("40", Level::Warn),
            ("50", Level::Error),
            ("60", Level::Fatal),
            ("3", Level::Error),
            ("4", Level::Warn),
            (" info ", Level::Info),
        ];
        for (name, want) in cases {
            assert_eq!(Level::parse(name), Ok(*want), "parsing {name:?}");
        }
    }

    #[test]
    fn unknown_level_error_quotes_the_value_and_lists_choices() {
        let err = Level::parse("loud").unwrap_err().to_string();
        assert!(err.contains("'loud'"), "{err}");
        assert!(
            err.contains("trace, debug, info, warn, error or fatal"),
            "{err}"
        );
    }

    #[test]
    fn levels_order_by_severity_and_serialize_lowercase() {
        assert!(Level::Trace < Level::Debug && Level::Error < Level::Fatal);
        assert_eq!(serde_json::to_string(&Level::Warn).unwrap(), "\"warn\"");
        assert_eq!(serde_json::from_str::<Level>("50").unwrap(), Level::Error);
        assert_eq!(
            serde_json::from_str::<Level>("\"WARNING\"").unwrap(),
            Level::Warn
        );
    }
}
