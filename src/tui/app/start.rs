//! The command line as the viewer's starting state.
//!
//! The TUI holds its own buffer and filters it locally, so each filter flag becomes the initial position
//! of the control that changes it: `--level` sets the level toggles, `--source`/`--instance`/`--region`
//! decide which names the picker starts with, `--grep` becomes the search with "only matches" on.
//! What has no control (`--where`, `--since`, `--until`) stays a fixed filter, listed in the status bar.

use chrono::{DateTime, Utc};

use super::names::NewRule;
use crate::cli::{Push, Reading, TuiArgs, UsageError};
use crate::client::{SourceConfig, SourceKind};
use crate::filter::{Filter, Glob};
use crate::format::TimeMode;
use crate::model::Level;

/// Everything the viewer starts from.
#[derive(Debug, Clone)]
pub(crate) struct Start {
    pub(crate) levels: [bool; 6],
    /// Filters without a control: predicates and the time range.
    pub(crate) fixed: Filter,
    /// How the fixed filters read in the status bar.
    pub(crate) fixed_labels: Vec<String>,
    pub(crate) rules: [NewRule; 3],
    pub(crate) search: Option<String>,
    pub(crate) time: TimeMode,
    /// The scrollback size.
    pub(crate) buffer: usize,
    /// How much history to load.
    pub(crate) tail: usize,
    /// Whether the source's backfill must be cut to `tail` here (a file has no server to do it).
    pub(crate) cut_backfill: bool,
    /// The server filters the stream, so a gap's count is an upper bound of what this view missed.
    pub(crate) server_filtered: bool,
    /// Where entries come from; its filter is the one the server applies (the fixed filters).
    pub(crate) source: SourceConfig,
    /// Every source: `source` and the other servers when `--url` names several.
    pub(crate) sources: Vec<SourceConfig>,
}

impl Start {
    /// How the viewer reads its source: it keeps level, source, instance, region and search under
    /// its own controls, asks for at most a scrollback of history, and follows files and servers.
    pub(crate) fn reading(buffer: usize) -> Reading {
        Reading {
            push: Push::WithoutControls,
            default_tail: None,
            max_tail: Some(buffer),
            follow: true,
            follow_file: true,
        }
    }

    /// Reads the flags; a bad value is a [`UsageError`] naming it.
    pub(crate) fn from_args(args: &TuiArgs, now: DateTime<Utc>) -> Result<Start, UsageError> {
        if args.buffer == 0 {
            return Err(UsageError::new("--buffer must be at least 1 entry"));
        }
        let configs = args.viewer.source_configs(Start::reading(args.buffer))?;
        let config = configs[0].clone();
        let spec = args.viewer.filter.to_spec();
        // Compile it whole first: one error message for any bad value, the same as `vg logs` gives.
        spec.compile(now)
            .map_err(|e| UsageError::new(e.to_string()))?;
        let min = spec
            .level
            .as_deref()
            .map(Level::parse)
            .transpose()
            .map_err(|e| UsageError::new(e.to_string()))?
            .unwrap_or(Level::Trace);
        let fixed = config
            .filter
            .compile(now)
            .map_err(|e| UsageError::new(e.to_string()))?;
        let mut fixed_labels: Vec<String> = spec.predicates.clone();
        fixed_labels.extend(spec.since.iter().map(|s| format!("since {s}")));
        fixed_labels.extend(spec.until.iter().map(|u| format!("until {u}")));
        let sources = if spec.source.is_empty() && spec.exclude_source.is_empty() {
            NewRule::On
        } else {
            let label = spec
                .source
                .iter()
                .cloned()
                .chain(spec.exclude_source.iter().map(|s| format!("-{s}")))
                .collect::<Vec<_>>()
                .join(",");
            NewRule::Sources {
                include: spec.source.iter().map(|s| Glob::new(s)).collect(),
                exclude: spec.exclude_source.iter().map(|s| Glob::new(s)).collect(),
                label,
            }
        };
        let list = |values: &Vec<String>| {
            if values.is_empty() {
                NewRule::On
            } else {
                NewRule::List(values.clone())
            }
        };
        let tail = config.tail.unwrap_or(args.buffer);
        Ok(Start {
            levels: Level::ALL.map(|level| level >= min),
            fixed,
            fixed_labels,
            rules: [sources, list(&spec.instance), list(&spec.region)],
            search: spec.q.clone(),
            time: args.viewer.time,
            buffer: args.buffer,
            tail,
            cut_backfill: !matches!(config.kind, SourceKind::Server { .. }),
            server_filtered: !config.filter.is_empty(),
            source: config,
            sources: configs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn start(args: &[&str]) -> Result<Start, UsageError> {
        let cli = crate::cli::Cli::try_parse_from([&["vg", "tui"], args].concat()).unwrap();
        let crate::cli::Command::Tui(args) = cli.command else {
            unreachable!()
        };
        Start::from_args(&args, Utc::now())
    }

    #[test]
    fn flags_become_the_starting_controls() {
        let s = start(&[
            "--level",
            "warn",
            "--source",
            "api*",
            "--grep",
            "time.?out",
            "--where",
            "status>=500",
            "--since",
            "10m",
            "-n",
            "50",
            "--buffer",
            "1000",
        ])
        .unwrap();
        assert_eq!(s.levels, [false, false, false, true, true, true]);
        assert!(matches!(&s.rules[0], NewRule::Sources { label, .. } if label == "api*"));
        assert!(matches!(s.rules[1], NewRule::On));
        assert_eq!(s.search.as_deref(), Some("time.?out"));
        assert_eq!(s.fixed_labels, ["status>=500", "since 10m"]);
        assert_eq!((s.tail, s.buffer), (50, 1000));
        assert!(!s.cut_backfill);
    }

    #[test]
    fn history_defaults_to_the_buffer_and_never_exceeds_it() {
        let s = start(&["--buffer", "10", "--file", "x.log"]).unwrap();
        assert_eq!(s.tail, 10);
        assert!(s.cut_backfill);
        assert_eq!(start(&["--buffer", "10", "-n", "99"]).unwrap().tail, 10);
    }

    #[test]
    fn bad_values_are_one_line_usage_errors() {
        for (args, want) in [
            (&["--grep", "(unclosed"][..], "invalid regex '(unclosed'"),
            (&["--level", "loud"][..], "unknown level 'loud'"),
            (&["--buffer", "0"][..], "--buffer must be at least 1"),
            (&["--where", "status"][..], "invalid predicate 'status'"),
        ] {
            let err = start(args).unwrap_err().to_string();
            assert!(err.starts_with(want), "{err}");
            assert!(!err.contains('\n'));
        }
    }
}
