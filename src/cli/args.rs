//! Command-line interface. The `///` comments on fields are the `--help` text.

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::filter::FilterSpec;
use crate::format::TimeMode;

/// Where `vg serve` listens, and where clients look, by default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7007";

/// Real-time log streaming: watch your app's logs live from a terminal.
#[derive(Debug, Parser)]
#[command(name = "vg", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process's arguments, exiting with clap's message on bad usage.
    ///
    /// `--file` and `--url` conflict only when both are typed: clap counts a value from `VG_URL` as
    /// given, and a `VG_URL` kept in the shell for servers must not stop `--file` from working.
    pub fn parse_args() -> Cli {
        let mut command = Cli::command();
        let matches = command.get_matches_mut();
        if let Some((name, sub)) = matches.subcommand()
            && sub.try_contains_id("file").unwrap_or(false)
            && sub.value_source("url") == Some(ValueSource::CommandLine)
            && let Some(subcommand) = command.find_subcommand_mut(name)
        {
            subcommand
                .error(
                    clap::error::ErrorKind::ArgumentConflict,
                    "--file reads a file instead of a server, so it cannot be used with --url",
                )
                .exit();
        }
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit())
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Stream logs to stdout: filter, colour on a terminal, NDJSON with --json.
    Logs(LogsArgs),
    /// Full-screen live log viewer.
    Tui(TuiArgs),
    /// Run the log server alone, ingesting over HTTP and optionally stdin (needs the `server` feature).
    Serve(ServeArgs),
    /// Run the server with realistic synthetic traffic and open the viewer on it (needs `server`).
    Demo(DemoArgs),
}

/// Where entries come from, for `vg logs` and `vg tui`.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Server to stream from: `http(s)://host[:port][/path]` or `ws(s)://...`; a bare host gets /api/logs/stream.
    #[arg(long, env = "VG_URL", hide_env_values = true, default_value_t = format!("http://{DEFAULT_ADDR}"))]
    pub url: String,
    /// Bearer token for the server (sent in the Authorization header, never in the URL).
    #[arg(long, env = "VG_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Read a file (NDJSON or plain text) instead of a server; `-` reads stdin.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
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

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// `vg logs`.
#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub filter: FilterArgs,
    /// Print this many recent matching entries first, then follow [default: 100 from a server, the
    /// whole file from --file].
    #[arg(short = 'n', long, value_name = "N")]
    pub tail: Option<usize>,
    /// Keep reading a file as it grows, like `tail -f` (servers and stdin always follow).
    #[arg(short, long, conflicts_with = "no_follow")]
    pub follow: bool,
    /// Print what matches now and exit 0 instead of following.
    #[arg(long)]
    pub no_follow: bool,
    /// Print NDJSON, one entry per line, exactly as the server sends it.
    #[arg(long)]
    pub json: bool,
    /// Colour output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// How to show timestamps.
    #[arg(long, default_value = "utc", value_parser = time_mode())]
    pub time: TimeMode,
    /// Do not neutralise control characters in log content (only for logs you fully trust).
    #[arg(long)]
    pub raw: bool,
    /// Exit 0 as soon as an entry's message matches this regex (e.g. "listening on").
    #[arg(long, value_name = "REGEX")]
    pub until_match: Option<String>,
    /// Exit 1 as soon as an entry's message matches this regex.
    #[arg(long, value_name = "REGEX")]
    pub fail_on: Option<String>,
    /// With --until-match/--fail-on (or alone): give up after this long with exit 124 (e.g. 30s, 5m).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

/// `vg tui`.
#[derive(Debug, Clone, Args)]
pub struct TuiArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub filter: FilterArgs,
    /// Load this many recent entries on start (default: the buffer size).
    #[arg(short = 'n', long, value_name = "N")]
    pub tail: Option<usize>,
    /// Scrollback size in entries; the oldest are dropped beyond it.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub buffer: usize,
    /// How to show timestamps at start (`t` cycles).
    #[arg(long, default_value = "utc", value_parser = time_mode())]
    pub time: TimeMode,
}

/// `vg serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = DEFAULT_ADDR, value_name = "ADDR")]
    pub bind: String,
    /// Also ingest standard input, one entry per line (JSON or plain text): `myapp 2>&1 | vg serve --stdin`.
    #[arg(long)]
    pub stdin: bool,
    /// Source name for plain-text stdin lines.
    #[arg(long, default_value = "stdin", value_name = "NAME")]
    pub stdin_source: String,
    /// Require this bearer token from viewers and ingesters.
    #[arg(long, env = "VG_TOKEN", hide_env_values = true, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub token: Option<String>,
    /// Entries kept in history for backfill and resume.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub history: usize,
    /// Bytes kept in history at most.
    #[arg(long, default_value_t = 64 * 1024 * 1024, value_name = "BYTES")]
    pub history_bytes: usize,
    /// Browser origin allowed to connect (repeatable). Without --token, also the names this server may
    /// be addressed by besides IP addresses and localhost (e.g. http://app:7007).
    #[arg(long, value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
    /// Most viewers connected at once; more are refused with close code 1013.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub max_connections: usize,
}

/// `vg demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Address to listen on [default: 127.0.0.1:7007, where `vg logs` and `vg tui` look without
    /// --url; a free port when that one is taken]
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Synthetic entries per second, on average.
    #[arg(long, default_value_t = 40, value_name = "N")]
    pub rate: u32,
    /// Serve only and print the URL; do not open the viewer.
    #[arg(long)]
    pub no_tui: bool,
}

/// A mistake in how vg was called (bad flag value, regex, URL...): the binary exits 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

impl UsageError {
    /// A usage error with this one-line message.
    pub fn new(message: impl Into<String>) -> UsageError {
        UsageError(message.into())
    }
}

/// `--time`: the core's [`TimeMode`] with its values listed in `--help` (the core knows no clap).
fn time_mode() -> impl clap::builder::TypedValueParser<Value = TimeMode> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(["utc", "local", "relative"])
        .map(|text| text.parse().unwrap_or_default())
}
