//! Command-line interface. The `///` comments on fields are the `--help` text.

use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::format::TimeMode;

mod viewer;

pub use viewer::{FilterArgs, SourceArgs, ViewerArgs};
pub(crate) use viewer::{Push, Reading};

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
    pub fn parse_args() -> Cli {
        Cli::try_parse_args(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// Parses these arguments as the `vg` binary does, with the environment read the same way.
    ///
    /// A `VG_*` variable the command reads that is set to nothing (`VG_TOKEN=`, as an env file with
    /// an unfilled secret leaves it) is refused with one line, in every command: guessing would mean
    /// either an empty token or, worse, a server started without the token its operator meant to set.
    ///
    /// `--file` and `--url` conflict only when both are typed: clap counts a value from `VG_URL` as
    /// given, and a `VG_URL` kept in the shell for servers must not stop `--file` from working.
    pub fn try_parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let command = Cli::command();
        let blank = blank_env(&command);
        let mut command = ignore_empty_env(command);
        let matches = command.try_get_matches_from_mut(args)?;
        if let Some((name, _)) = matches.subcommand()
            && let Some((_, var)) = blank.iter().find(|(sub, _)| sub == name)
            && let Some(subcommand) = command.find_subcommand_mut(name)
        {
            return Err(subcommand.error(
                clap::error::ErrorKind::InvalidValue,
                format!(
                    "{var} is set but empty; give it a value or unset it (unset {var}) to use the default"
                ),
            ));
        }
        if let Some((name, sub)) = matches.subcommand()
            && sub.try_contains_id("file").unwrap_or(false)
            && sub.value_source("url") == Some(ValueSource::CommandLine)
            && let Some(subcommand) = command.find_subcommand_mut(name)
        {
            return Err(subcommand.error(
                clap::error::ErrorKind::ArgumentConflict,
                "--file reads a file instead of a server, so it cannot be used with --url",
            ));
        }
        Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
    }
}

/// (subcommand, variable) for every environment variable a subcommand's argument reads that is set
/// but blank.
fn blank_env(command: &clap::Command) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for sub in command.get_subcommands() {
        for arg in sub.get_arguments() {
            if let Some(var) = arg.get_env()
                && std::env::var_os(var).is_some_and(|v| v.to_string_lossy().trim().is_empty())
            {
                found.push((
                    sub.get_name().to_owned(),
                    var.to_string_lossy().into_owned(),
                ));
            }
        }
    }
    found
}

/// Forgets the value of every environment variable an argument reads that is set but blank, so
/// that parsing gets as far as knowing the subcommand (whose blank variables are then refused)
/// instead of failing on an empty value (clap reads the value when the argument is defined, hence
/// the rebuild).
fn ignore_empty_env(mut command: clap::Command) -> clap::Command {
    let blank: Vec<clap::Id> = command
        .get_arguments()
        .filter(|arg| {
            arg.get_env()
                .and_then(std::env::var_os)
                .is_some_and(|value| value.to_string_lossy().trim().is_empty())
        })
        .map(|arg| arg.get_id().clone())
        .collect();
    for id in blank {
        command = command.mut_arg(id, |arg| arg.env(None));
    }
    let subcommands: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    for name in subcommands {
        command = command.mut_subcommand(name, ignore_empty_env);
    }
    command
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
    /// Check an alert rules file, or replay a log file through it (needs `server`).
    Alerts(AlertsArgs),
}

/// `vg alerts`.
#[derive(Debug, Clone, Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    #[allow(missing_docs)]
    pub command: AlertsCommand,
}

/// What `vg alerts` does.
#[derive(Debug, Clone, Subcommand)]
pub enum AlertsCommand {
    /// Validate a rules file: every problem on its own line, naming the line, rule and key.
    Check {
        /// The rules file (TOML).
        rules: std::path::PathBuf,
    },
    /// Replay a log file through the rules at each entry's own timestamp and print what would have
    /// fired and resolved, and when; nothing is sent.
    Test {
        /// The rules file (TOML).
        rules: std::path::PathBuf,
        /// The log file: NDJSON or text, as `vg logs --file` reads it.
        #[arg(long, value_name = "PATH")]
        file: std::path::PathBuf,
    },
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
    pub viewer: ViewerArgs,
    /// Keep reading a file as it grows, like `tail -F`: through rotation and truncation, and waiting
    /// for a file that does not exist yet (servers and stdin always follow).
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
    /// Do not neutralise control characters in log content (only for logs you fully trust).
    #[arg(long)]
    pub raw: bool,
    /// Keep each entry on one line: a multi-line message shows its newlines as `\n` instead of
    /// continuing on marked, indented lines.
    #[arg(long)]
    pub single_line: bool,
    /// Exit 0 as soon as an entry's message matches this regex (e.g. "listening on").
    #[arg(long, value_name = "REGEX")]
    pub until_match: Option<String>,
    /// Exit 1 as soon as an entry's message matches this regex.
    #[arg(long, value_name = "REGEX")]
    pub fail_on: Option<String>,
    /// With --until-match/--fail-on (or alone): give up after this long with exit 124 (e.g. 30s, 5m).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Also say each connection step on stderr (connecting, connected, history loaded); without it,
    /// stderr carries only trouble: retries, gaps, restarts, refusals.
    #[arg(short, long)]
    pub verbose: bool,
}

/// `vg tui`.
#[derive(Debug, Clone, Args)]
pub struct TuiArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub viewer: ViewerArgs,
    /// Scrollback size in entries; the oldest are dropped beyond it.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub buffer: usize,
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
    /// Require this bearer token from viewers and ingesters. Prefer the VG_TOKEN variable: a command
    /// line is visible to other users of the machine.
    #[arg(long, env = "VG_TOKEN", hide_env_values = true, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub token: Option<String>,
    /// Require this token from viewers and history queries instead of --token (VG_READ_TOKEN).
    #[arg(long, env = "VG_READ_TOKEN", hide_env_values = true, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub read_token: Option<String>,
    /// Require this token from ingesters (POST /api/logs, OTLP, Loki) instead of --token
    /// (VG_INGEST_TOKEN).
    #[arg(long, env = "VG_INGEST_TOKEN", hide_env_values = true, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub ingest_token: Option<String>,
    /// Entries kept in history for backfill and resume.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub history: usize,
    /// Bytes kept in history at most: what entries cost in memory (parsed meta included), not their JSON.
    #[arg(long, default_value_t = 64 * 1024 * 1024, value_name = "BYTES")]
    pub history_bytes: usize,
    /// Browser origin allowed to connect (repeatable). Without --token, also the names this server may
    /// be addressed by besides IP addresses and localhost (e.g. http://app:7007).
    #[arg(long, value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
    /// Most viewers connected at once; more are refused with close code 1013.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub max_connections: usize,
    /// Most HTTP connections open at once, viewers included; more get 503 before their request is read.
    #[arg(long, default_value_t = 512, value_name = "N")]
    pub max_http_connections: usize,
    /// Most HTTP connections open at once from one client address (IPv6: per /64). Behind a reverse
    /// proxy every client has the proxy's address: raise it to --max-http-connections there.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub max_connections_per_ip: usize,
    /// Time a client has to send a request's head, from connecting or from its previous response
    /// (so also how long a kept-alive connection may sit idle).
    #[arg(long, default_value = "10s", value_parser = parse_timeout, value_name = "DURATION")]
    pub header_timeout: std::time::Duration,
    /// Time a request has to send its body and be answered; then 408.
    #[arg(long, default_value = "30s", value_parser = parse_timeout, value_name = "DURATION")]
    pub body_timeout: std::time::Duration,
    /// Time a write may wait for a client that reads nothing (a download, a viewer); then the
    /// connection is closed.
    #[arg(long, default_value = "30s", value_parser = parse_timeout, value_name = "DURATION")]
    pub write_timeout: std::time::Duration,
    /// Most `GET /api/logs` answers sent at once (each is streamed, holding a few entries); more get
    /// 503 with Retry-After.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub max_history_queries: usize,
    /// Most bytes all viewers' socket buffers hold together (each keeps the size of the largest
    /// frame it was sent); a viewer whose next frame does not fit is closed with 1013 and resumes.
    #[arg(long, default_value_t = 128 * 1024 * 1024, value_name = "BYTES")]
    pub max_viewer_bytes: usize,
    /// Most ingest bodies (POST /api/logs, OTLP, Loki) read and parsed at once; more wait up to
    /// --ingest-wait, then get 503 with Retry-After.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub max_ingest_requests: usize,
    /// How long an ingest request waits for its turn under --max-ingest-requests.
    #[arg(long, default_value = "2s", value_parser = parse_timeout, value_name = "DURATION")]
    pub ingest_wait: std::time::Duration,
    /// Deepest nesting of objects and arrays in one ingested entry (at most 127); deeper entries
    /// are rejected unparsed.
    #[arg(long, default_value_t = 32, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=127))]
    pub max_entry_depth: u16,
    /// Most JSON values (every field, array item and nested value) in one ingested entry; larger
    /// entries are rejected unparsed.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub max_entry_values: usize,
    /// Ingest requests (POST /api/logs, /v1/logs, Loki push) per second from one client address;
    /// more get 429 with Retry-After. 0 turns the limit off.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub ingest_rate: u32,
    /// Ingest requests one client may send at once after a quiet spell, above --ingest-rate.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub ingest_burst: u32,
    /// Viewer connection attempts per minute from one client address; more get 429 with
    /// Retry-After. 0 turns the limit off.
    #[arg(long, default_value_t = 60, value_name = "N")]
    pub connect_rate: u32,
    /// Connection attempts one client may make at once after a quiet spell, above --connect-rate.
    #[arg(long, default_value_t = 30, value_name = "N")]
    pub connect_burst: u32,
    /// Serve HTTPS (and wss://) with this certificate chain (PEM, the server's certificate first);
    /// needs --tls-key. Both files are read again on SIGHUP.
    #[arg(long, env = "VG_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, RSA or EC).
    #[arg(long, env = "VG_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Alert rules (TOML, docs/alerts.md) evaluated on the stream; reloaded on SIGHUP and on
    /// `POST /api/alerts/reload`.
    #[arg(long, env = "VG_ALERTS", value_name = "FILE")]
    pub alerts: Option<std::path::PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub storage: StorageArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub redis: RedisArgs,
}

/// Fan-out between instances through Redis, for `vg serve` and `vg demo`.
#[derive(Debug, Clone, Args)]
pub struct RedisArgs {
    /// Publish every entry to a Redis Stream shared by all instances: redis://HOST:PORT[/DB]
    /// (rediss:// for TLS). Entries wait in a bounded buffer while Redis is down.
    #[arg(
        long = "redis",
        env = "VG_REDIS_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub url: Option<String>,
    /// The Redis Stream key every instance publishes to.
    #[arg(long = "redis-stream", default_value = "vg:logs", value_name = "KEY")]
    pub stream: String,
    /// About how many entries the Redis Stream keeps (approximate MAXLEN).
    #[arg(long = "redis-max-len", default_value_t = 100_000, value_name = "N")]
    pub max_len: usize,
    /// Also trim entries older than this from the Redis Stream (approximate MINID, by Redis's
    /// clock): 30m, 24h, 7d. Whichever of the two limits is reached first applies.
    #[arg(long = "redis-max-age", value_parser = parse_redis_max_age, value_name = "AGE", requires = "url")]
    pub max_age: Option<std::time::Duration>,
    /// With rediss://: trust this CA certificate (PEM) for Redis's certificate instead of the
    /// built-in roots (a private CA).
    #[arg(
        long = "redis-ca-cert",
        env = "VG_REDIS_CA_CERT",
        value_name = "FILE",
        requires = "url"
    )]
    pub ca_cert: Option<std::path::PathBuf>,
    /// Most entries waiting for Redis while it is down; the oldest are dropped (and counted) past that.
    #[arg(long = "redis-buffer", default_value_t = 100_000, value_name = "N")]
    pub buffer: usize,
    /// Most bytes those entries may cost in memory; the oldest are dropped (and counted) past that.
    #[arg(long = "redis-buffer-bytes", default_value_t = 64 * 1024 * 1024, value_name = "BYTES")]
    pub buffer_bytes: usize,
}

/// Durable history, for `vg serve` and `vg demo`.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Keep history in this directory too: it survives restarts, and the stream continues where it
    /// stopped (same boot, no seq given twice). Without it, history is in memory only.
    #[arg(long, env = "VG_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<std::path::PathBuf>,
    /// With --data-dir, when written entries are forced to disk: interval (every 100 ms: a power
    /// cut loses at most the last 100 ms), always (every batch), never (left to the OS). A killed
    /// process loses nothing it wrote in any mode.
    #[arg(long, value_enum, default_value_t = FsyncMode::Interval, value_name = "MODE", requires = "data_dir")]
    pub fsync: FsyncMode,
    /// With --data-dir, most bytes kept on disk (e.g. 500MiB, 2GiB); the oldest segments go first.
    #[arg(long, default_value = "1GiB", value_parser = parse_retention_bytes, value_name = "SIZE", requires = "data_dir")]
    pub retention_bytes: u64,
    /// With --data-dir, how long entries are kept on disk (e.g. 12h, 7d, 4w).
    #[arg(long, default_value = "7d", value_parser = parse_retention_age, value_name = "AGE", requires = "data_dir")]
    pub retention_age: std::time::Duration,
    /// Size at which a segment file is sealed and the next begun (tests use small ones).
    #[arg(long, default_value = "64MiB", value_parser = parse_bytes, value_name = "SIZE", hide = true)]
    pub segment_bytes: u64,
}

/// `--fsync`: when written entries are forced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FsyncMode {
    /// Every 100 ms while there are unsynced writes.
    Interval,
    /// After every batch.
    Always,
    /// Left to the operating system.
    Never,
}

/// `512`, `64KiB`, `500MB`, `2GiB`, `1G`: bytes, with binary or decimal units.
fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| {
        format!("'{text}' is not a size: use a number with an optional unit, e.g. 500MiB or 2GiB")
    })?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        _ => {
            return Err(format!(
                "'{text}' is not a size: units are B, KB, KiB, MB, MiB, GB, GiB, TB, TiB"
            ));
        }
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("'{text}' is too large"))
}

/// A timeout: a duration above zero (zero would refuse every request).
fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    match crate::timespec::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("a timeout must be above zero, e.g. 10s".to_owned()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

/// What a retention of nothing would do, said instead of done: every start would drop all but the
/// segment being written, which reads like a crash that lost everything.
const NO_RETENTION: &str = "would keep only the segment being written, and every restart would \
                            drop the rest; leave out --data-dir to keep history in memory only";

fn parse_retention_bytes(text: &str) -> Result<u64, String> {
    match parse_bytes(text)? {
        0 => Err(format!("a retention of 0 bytes {NO_RETENTION}")),
        bytes => Ok(bytes),
    }
}

fn parse_retention_age(text: &str) -> Result<std::time::Duration, String> {
    match crate::timespec::parse_duration(text).map_err(|e| e.to_string())? {
        age if age.is_zero() => Err(format!("a retention of 0 seconds {NO_RETENTION}")),
        age => Ok(age),
    }
}

fn parse_redis_max_age(text: &str) -> Result<std::time::Duration, String> {
    match crate::timespec::parse_duration(text).map_err(|e| e.to_string())? {
        age if age.is_zero() => {
            Err("an age limit of 0 would trim every entry: give one such as 30m, 24h or 7d".into())
        }
        age => Ok(age),
    }
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
    /// Simulate this many app instances (1-4), each with a server of its own (the first on --bind,
    /// the others on free ports) and its share of --rate. With --redis they publish through Redis
    /// and each serves all of them; without, the viewer merges their servers.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=4))]
    pub instances: u8,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub storage: StorageArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub redis: RedisArgs,
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
pub(super) fn time_mode() -> impl clap::builder::TypedValueParser<Value = TimeMode> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(["utc", "local", "relative"])
        .map(|text| text.parse().unwrap_or_default())
}
