//! The flags `vg logs` and `vg tui` share, and the one place they become a source configuration.

use std::path::PathBuf;

use clap::Args;

use super::{DEFAULT_ADDR, UsageError, time_mode};
use crate::client::{SourceConfig, SourceKind, load_ca_certs, stream_url};
use crate::filter::FilterSpec;
use crate::format::TimeMode;

/// Where entries come from, for `vg logs` and `vg tui`.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Server to stream from: `http(s)://host[:port][/path]` or `ws(s)://...`; a bare host gets
    /// /api/logs/stream. Repeat it to merge several servers into one stream, in time order.
    #[arg(long, env = "VG_URL", hide_env_values = true, default_values_t = [format!("http://{DEFAULT_ADDR}")])]
    pub url: Vec<String>,
    /// Bearer token for the server (sent in the Authorization header, never in the URL).
    #[arg(long, env = "VG_TOKEN", hide_env_values = true, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub token: Option<String>,
    /// Also trust the CA certificate(s) in this PEM file for https:// and wss:// servers, besides the
    /// built-in roots (a server whose certificate a private CA signed).
    #[arg(long, env = "VG_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Read a file (NDJSON or plain text) instead of a server; `-` reads stdin.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// On a server publishing to Redis: only its own entries (its plain stream), not every
    /// instance's. They go on while Redis is down, when the merged stream waits for it.
    #[arg(long)]
    pub no_merge: bool,
}

/// Which entries to show; the same flags for `vg logs` and `vg tui`.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Minimum level: trace, debug, info, warn, error, fatal.
    #[arg(short, long)]
    pub level: Option<String>,
    /// Only these sources (repeatable or comma-separated; `*` globs).
    #[arg(short, long, value_delimiter = ',')]
    pub source: Vec<String>,
    /// Leave out these sources (repeatable or comma-separated; `*` globs).
    #[arg(long, value_delimiter = ',')]
    pub exclude_source: Vec<String>,
    /// Only messages matching this regex.
    #[arg(short, long, value_name = "REGEX")]
    pub grep: Option<String>,
    /// Field predicate on meta, e.g. `status>=500`, `userId=u_1`, `path~^/api` (repeatable; all must hold).
    #[arg(short = 'w', long = "where", value_name = "PREDICATE")]
    pub predicates: Vec<String>,
    /// Only this instance (repeatable).
    #[arg(long)]
    pub instance: Vec<String>,
    /// Only this region (repeatable).
    #[arg(long)]
    pub region: Vec<String>,
    /// Only entries at or after this time: RFC 3339, a date, or a duration ago (30s, 10m, 2h, 1d).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only entries at or before this time: RFC 3339, a date, or a duration ago.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

impl FilterArgs {
    /// The flags as a filter spec, the form the server and the local filter both take.
    pub fn to_spec(&self) -> FilterSpec {
        FilterSpec {
            level: self.level.clone(),
            source: self.source.clone(),
            exclude_source: self.exclude_source.clone(),
            q: self.grep.clone(),
            instance: self.instance.clone(),
            region: self.region.clone(),
            predicates: self.predicates.clone(),
            since: self.since.clone(),
            until: self.until.clone(),
        }
    }
}

/// The flags `vg logs` and `vg tui` share: where entries come from, which ones, how much history and
/// how times read. Defined once so both commands take the same flags with the same meaning; what each
/// makes of them differs only in how it reads the source (which filters the server applies, how much
/// history), and one function turns them into the source configuration.
#[derive(Debug, Clone, Args)]
pub struct ViewerArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub filter: FilterArgs,
    /// Start with this many recent matching entries [default: vg logs: 100 from a server, all of a
    /// --since window, the whole file; vg tui: as many as --buffer holds].
    #[arg(short = 'n', long, value_name = "N")]
    pub tail: Option<usize>,
    /// How to show timestamps (in vg tui, `t` cycles them).
    #[arg(long, default_value = "utc", value_parser = time_mode())]
    pub time: TimeMode,
}

/// How a viewer reads its source: everything `vg logs` and `vg tui` do differently with the same
/// [`ViewerArgs`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reading {
    /// Which filters the server applies.
    pub(crate) push: Push,
    /// Recent entries to ask a server for when neither `--tail` nor `--since` says (`None`: all).
    pub(crate) default_tail: Option<usize>,
    /// The most entries to ask for, whatever the flags say (the TUI's scrollback).
    pub(crate) max_tail: Option<usize>,
    /// Keep streaming from a server after the backfill.
    pub(crate) follow: bool,
    /// Keep reading a file as it grows, and wait for one that does not exist yet.
    pub(crate) follow_file: bool,
}

/// Which filters go to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Push {
    /// All of them: only matching entries cross the network (`vg logs`).
    All,
    /// Only those the viewer has no control for (`--where`, `--since`, `--until`): level, source,
    /// instance, region and `--grep` are starting positions of the TUI's toggles, picker and search,
    /// and the user must be able to turn them back on and see what they hid.
    WithoutControls,
}

impl ViewerArgs {
    /// The one place the viewer flags become a source configuration, checked before anything
    /// starts: a bad URL is a [`UsageError`] naming it.
    #[cfg(test)]
    pub(crate) fn source_config(&self, reading: Reading) -> Result<SourceConfig, UsageError> {
        self.source_configs(reading)?
            .into_iter()
            .next()
            .ok_or_else(|| UsageError::new("--url needs a server URL"))
    }

    /// One source configuration per `--url` (the same settings for each), or the file's.
    pub(crate) fn source_configs(&self, reading: Reading) -> Result<Vec<SourceConfig>, UsageError> {
        let first = self.one_source_config(reading, self.source.url.first())?;
        if self.source.file.is_some() {
            return Ok(vec![first]);
        }
        let mut configs = vec![first];
        let mut seen: Vec<_> = self
            .source
            .url
            .iter()
            .take(1)
            .filter_map(|u| stream_url(u).ok())
            .collect();
        for url in self.source.url.iter().skip(1) {
            configs.push(self.one_source_config(reading, Some(url))?);
            // Each one checked by now: the same server twice would show every entry twice.
            if let Ok(normalized) = stream_url(url) {
                if seen.contains(&normalized) {
                    return Err(UsageError::new(format!(
                        "--url {url} is given twice (as {normalized}); each server once"
                    )));
                }
                seen.push(normalized);
            }
        }
        Ok(configs)
    }

    fn one_source_config(
        &self,
        reading: Reading,
        url: Option<&String>,
    ) -> Result<SourceConfig, UsageError> {
        let spec = self.filter.to_spec();
        let filter = match reading.push {
            Push::All => spec,
            Push::WithoutControls => FilterSpec {
                predicates: spec.predicates,
                since: spec.since,
                until: spec.until,
                ..FilterSpec::default()
            },
        };
        let (kind, follow) = match self.source.file.as_deref() {
            Some(path) if path.as_os_str() == "-" => (SourceKind::Stdin, true),
            Some(path) => (SourceKind::File(path.to_owned()), reading.follow_file),
            None => {
                let url = url.ok_or_else(|| UsageError::new("--url needs a server URL"))?;
                stream_url(url).map_err(|e| UsageError::new(e.to_string()))?;
                let ca_certs = match &self.source.ca_cert {
                    Some(path) => {
                        load_ca_certs(path).map_err(|e| UsageError::new(e.to_string()))?
                    }
                    None => Vec::new(),
                };
                let kind = SourceKind::Server {
                    url: url.clone(),
                    token: self.source.token.clone(),
                    ca_certs,
                };
                (kind, reading.follow)
            }
        };
        // From a server, recent history as `fly logs` shows, unless a time window asks for all of
        // itself; a file or stdin has all of its history read (and cut here, if asked).
        let server_default =
            matches!(kind, SourceKind::Server { .. }) && self.filter.since.is_none();
        let tail = self
            .tail
            .or(reading.default_tail.filter(|_| server_default));
        let tail = match (tail, reading.max_tail) {
            (Some(tail), Some(max)) => Some(tail.min(max)),
            (tail, max) => tail.or(max),
        };
        Ok(SourceConfig {
            kind,
            filter,
            tail,
            follow,
            pass_json: false,
            merged: !self.source.no_merge,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser as _;

    fn viewer(command: &str, flags: &[&str]) -> ViewerArgs {
        match Cli::try_parse_from([&["vg", command], flags].concat()).map(|cli| cli.command) {
            Ok(Command::Logs(args)) => args.viewer,
            Ok(Command::Tui(args)) => args.viewer,
            other => panic!("{flags:?}: {other:?}"),
        }
    }

    const LOGS: Reading = Reading {
        push: Push::All,
        default_tail: Some(100),
        max_tail: None,
        follow: true,
        follow_file: false,
    };

    const TUI: Reading = Reading {
        push: Push::WithoutControls,
        default_tail: None,
        max_tail: Some(1000),
        follow: true,
        follow_file: true,
    };

    #[test]
    fn both_commands_take_the_same_viewer_flags() {
        let flags = [
            "--url",
            "http://h:1",
            "--token",
            "t",
            "--ca-cert",
            "ca.pem",
            "--level",
            "warn",
            "--source",
            "api",
            "--exclude-source",
            "db",
            "--grep",
            "x",
            "--where",
            "status>=500",
            "--instance",
            "i",
            "--region",
            "r",
            "--since",
            "10m",
            "--until",
            "1m",
            "-n",
            "5",
            "--time",
            "local",
        ];
        let (logs, tui) = (viewer("logs", &flags), viewer("tui", &flags));
        assert_eq!(format!("{logs:?}"), format!("{tui:?}"));
    }

    #[test]
    fn vg_logs_pushes_every_filter_and_asks_a_server_for_recent_history() {
        let config = viewer("logs", &["--level", "warn"])
            .source_config(LOGS)
            .unwrap();
        assert_eq!(config.filter.level.as_deref(), Some("warn"));
        assert_eq!(config.tail, Some(100));
        assert!(matches!(config.kind, SourceKind::Server { .. }));
        let window = viewer("logs", &["--since", "10m"])
            .source_config(LOGS)
            .unwrap();
        assert_eq!(window.tail, None, "a time window asks for all of itself");
        let file = viewer("logs", &["--file", "app.log"])
            .source_config(LOGS)
            .unwrap();
        assert_eq!(
            (file.tail, file.follow),
            (None, false),
            "the whole file, once"
        );
        let follow = Reading {
            follow_file: true,
            ..LOGS
        };
        assert!(
            viewer("logs", &["--file", "app.log"])
                .source_config(follow)
                .unwrap()
                .follow
        );
        assert_eq!(
            viewer("logs", &["--file", "-"])
                .source_config(LOGS)
                .unwrap()
                .kind,
            SourceKind::Stdin
        );
    }

    #[test]
    fn a_repeated_url_is_one_source_each_and_a_bad_one_is_named() {
        let flags = ["--url", "http://a:1", "--url", "b:2", "-n", "7"];
        let configs = viewer("logs", &flags).source_configs(LOGS).unwrap();
        let urls: Vec<_> = configs
            .iter()
            .map(|c| match &c.kind {
                SourceKind::Server { url, .. } => (url.as_str(), c.tail),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(urls, [("http://a:1", Some(7)), ("b:2", Some(7))]);
        let bad = viewer("tui", &["--url", "http://a:1", "--url", "ftp://b"])
            .source_configs(TUI)
            .unwrap_err();
        assert!(bad.to_string().contains("'ftp://b'"), "{bad}");
        // The same server twice, however it is written, would show every entry twice.
        let twice = viewer(
            "logs",
            &["--url", "http://a:1", "--url", "ws://a:1/api/logs/stream"],
        )
        .source_configs(LOGS)
        .unwrap_err();
        assert!(twice.to_string().contains("given twice"), "{twice}");
    }

    #[test]
    fn vg_tui_pushes_only_filters_without_a_control_and_caps_history() {
        let config = viewer(
            "tui",
            &[
                "--level",
                "warn",
                "--source",
                "api",
                "--grep",
                "timeout",
                "--where",
                "statusCode>=500",
                "--since",
                "10m",
                "-n",
                "5000",
            ],
        )
        .source_config(TUI)
        .unwrap();
        let pushed = config.filter;
        assert_eq!(pushed.level, None, "level toggles can turn info back on");
        assert!(pushed.source.is_empty() && pushed.q.is_none());
        assert_eq!(pushed.predicates, ["statusCode>=500"]);
        assert_eq!(pushed.since.as_deref(), Some("10m"));
        assert_eq!(config.tail, Some(1000), "never more than the scrollback");
        assert_eq!(
            viewer("tui", &[]).source_config(TUI).unwrap().tail,
            Some(1000)
        );
    }

    #[test]
    fn a_ca_cert_that_cannot_be_read_is_one_usage_line_and_only_for_a_server() {
        let missing = "/nonexistent-dir/ca.pem";
        let err = viewer("logs", &["--ca-cert", missing])
            .source_config(LOGS)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("--ca-cert /nonexistent-dir/ca.pem: cannot read it"),
            "{err}"
        );
        assert!(!err.contains('\n'));
        // A file source connects nowhere: a CA kept in VG_CA_CERT does not stop it.
        let file = viewer("logs", &["--ca-cert", missing, "--file", "app.log"]).source_config(LOGS);
        assert!(file.is_ok());
    }

    #[test]
    fn a_bad_url_is_one_usage_line() {
        let err = viewer("logs", &["--url", "ftp://h"])
            .source_config(LOGS)
            .unwrap_err();
        assert!(
            err.to_string().starts_with("invalid URL 'ftp://h'"),
            "{err}"
        );
        assert!(!err.to_string().contains('\n'));
    }
}
