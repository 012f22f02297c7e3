//! `vg logs`: source events in, lines on stdout, state on stderr.
//!
//! stdout carries only entries (display lines, or NDJSON with `--json`) so it can be piped; what
//! concerns the user about the connection goes to stderr: trouble always (retries, gaps, restarts,
//! refusals, a file not there yet), the normal steps only with `--verbose`, so a run that goes well
//! is silent there, as a Unix tool's should be. Output is buffered and flushed whenever the source has nothing
//! more waiting, so `vg logs | grep x` is live while a flood still moves in large writes.

mod closed;
mod output;
mod redis;
mod whole;

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use regex::Regex;

use crate::cli::{ColorChoice, LogsArgs, Push, Reading, UsageError};
use crate::client::{self, ConnState, JsonEntries, Passed, SourceConfig, SourceEvent, SourceKind};
use crate::filter::{Filter, regex_error_line};
use crate::format::LineFormatter;
use crate::model::LogEntry;
use crate::model::decode::FlatLine;
use crate::timespec::parse_duration;
use output::{Output, Written};
use redis::RedisWatch;

/// Exit code when `--timeout` runs out, as coreutils' `timeout` uses.
const EXIT_TIMEOUT: u8 = 124;
/// Default history from a server, as `fly logs` shows.
const DEFAULT_TAIL: usize = 100;
/// How long past `--until` a window stays open for entries stamped just before it, still on their
/// way.
const UNTIL_GRACE: Duration = Duration::from_secs(1);
/// During an outage, the same reason is said again at most this often.
const RETRY_REPEAT: Duration = Duration::from_secs(30);

/// Everything `vg logs` checks before it starts, so a mistake is reported before any connection.
struct Plan {
    /// The first source's configuration: the settings every source shares.
    config: SourceConfig,
    /// One per `--url` (or the file): more than one are merged.
    sources: Vec<SourceConfig>,
    filter: Filter,
    until_match: Option<Regex>,
    fail_on: Option<Regex>,
    timeout: Option<Duration>,
    /// Say each connection step on stderr, not only trouble.
    verbose: bool,
}

fn usage(error: impl std::fmt::Display) -> anyhow::Error {
    UsageError::new(error.to_string()).into()
}

fn flag_regex(flag: &str, pattern: Option<&String>) -> anyhow::Result<Option<Regex>> {
    pattern
        .map(|p| {
            Regex::new(p).map_err(|e| {
                usage(format!(
                    "invalid {flag} regex '{p}': {}",
                    regex_error_line(&e)
                ))
            })
        })
        .transpose()
}

fn plan(args: &LogsArgs) -> anyhow::Result<Plan> {
    let filter = args
        .viewer
        .filter
        .to_spec()
        .compile(Utc::now())
        .map_err(usage)?;
    let mut sources = args.viewer.source_configs(Reading {
        push: Push::All,
        default_tail: Some(DEFAULT_TAIL),
        max_tail: None,
        follow: !args.no_follow,
        follow_file: args.follow,
    })?;
    // `--json` from one server prints each entry's JSON and reads nothing else of it: the entries
    // can come as the server wrote them, undecoded (`--until-match` and `--fail-on` read the
    // message, so they take decoded ones).
    if let [only] = sources.as_mut_slice() {
        only.pass_json = args.json
            && matches!(only.kind, SourceKind::Server { .. })
            && args.until_match.is_none()
            && args.fail_on.is_none();
    }
    Ok(Plan {
        config: sources[0].clone(),
        sources,
        filter,
        until_match: flag_regex("--until-match", args.until_match.as_ref())?,
        fail_on: flag_regex("--fail-on", args.fail_on.as_ref())?,
        timeout: args
            .timeout
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(usage)?,
        verbose: args.verbose,
    })
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Runs `vg logs` to completion and returns the process exit code.
pub async fn run(args: LogsArgs) -> anyhow::Result<ExitCode> {
    let plan = plan(&args)?;
    let formatter = LineFormatter {
        color: use_color(args.color),
        time: args.viewer.time,
        raw: args.raw,
        single_line: args.single_line,
        origin_width: 0,
    };
    if args.json && std::io::stdout().is_terminal() {
        // JSON keeps log content exactly as sent: only what JSON itself must escape is escaped, so C1
        // controls, bidi overrides and invisible characters reach the terminal as themselves.
        crate::say!(
            "vg: --json writes log content raw (bidi, C1 and invisible characters are not escaped) to \
             this terminal; pipe it (| jq, > file) or leave out --json to see it escaped"
        );
    }
    // A window that ends ahead is followed live until then: said, so that a run that seems to
    // hang is known to be waiting for its `--until`.
    if let Some(until) = plan.filter.until()
        && plan.config.follow
        && until > Utc::now()
        && matches!(plan.config.kind, SourceKind::Server { .. })
    {
        crate::say!(
            "vg: --until {} is ahead: following until then (Ctrl-C stops)",
            crate::model::format_timestamp(&until)
        );
    }
    if whole::eligible(&args, &plan) {
        return whole::run(&plan, formatter);
    }
    let mut output = Output::new(args.json, formatter);
    let deadline = plan.timeout.map(|t| tokio::time::Instant::now() + t);
    // A window that ends ahead is complete once its end has passed (and the entries stamped just
    // before it have had a moment to arrive): nothing later can match.
    let window_end = plan
        .filter
        .until()
        .filter(|_| plan.config.follow)
        .and_then(|until| (until - Utc::now()).to_std().ok())
        .map(|left| tokio::time::Instant::now() + left + UNTIL_GRACE);
    let mut viewer = Viewer::new(&plan);
    let mut events = client::spawn_all(plan.sources.clone());
    let mut reader_check = tokio::time::interval(closed::CHECK_EVERY);
    reader_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = reader_check.tick() => {
                if closed::stdout_closed() {
                    return Ok(ExitCode::SUCCESS);
                }
                continue;
            }
            () = sleep_until(deadline) => {
                output.flush().context("writing to stdout")?;
                let waited = args.timeout.as_deref().unwrap_or_default();
                crate::say!("vg: timed out after {waited}");
                return Ok(ExitCode::from(EXIT_TIMEOUT));
            }
            () = sleep_until(window_end) => {
                output.flush().context("writing to stdout")?;
                return Ok(ExitCode::SUCCESS);
            }
        };
        let Some(event) = event else { break };
        match viewer
            .handle(event, &mut output)
            .context("writing to stdout")?
        {
            Step::Continue => {}
            Step::Exit(code) => {
                output.flush().context("writing to stdout")?;
                return Ok(code);
            }
        }
        // Flush once the source is idle: live for pipes, few syscalls under a flood.
        if events.is_empty() {
            match output.flush() {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    return Ok(ExitCode::SUCCESS);
                }
                Err(e) => return Err(e).context("writing to stdout"),
            }
        }
    }
    output.flush().context("writing to stdout")?;
    Ok(ExitCode::SUCCESS)
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

enum Step {
    Continue,
    Exit(ExitCode),
}

/// The per-stream state: backfill held for `--tail`, what was said about the connection.
struct Viewer<'p> {
    plan: &'p Plan,
    /// Matching backfill entries of a file or stdin, held until `live` so only the last `tail` are
    /// printed. A server applies the filter and `tail` itself, so its backfill streams straight
    /// through (memory stays bounded however large the tail).
    backfill: Option<VecDeque<LogEntry>>,
    /// The servers (targets) connected at least once.
    ever_connected: HashSet<String>,
    /// The backfill is done (said once with `--verbose`).
    live: bool,
    /// Per server that is down: the last retry reason printed and when. An outage prints a line
    /// when the reason changes or every [`RETRY_REPEAT`], not one per attempt.
    lost: HashMap<String, Option<(String, std::time::Instant)>>,
    /// The connected instances' publishing to Redis, for saying what changed.
    redis: RedisWatch,
}

impl<'p> Viewer<'p> {
    fn new(plan: &'p Plan) -> Viewer<'p> {
        Viewer {
            plan,
            backfill: plan
                .config
                .tail
                .filter(|_| !matches!(plan.config.kind, SourceKind::Server { .. }))
                .map(|_| VecDeque::new()),
            ever_connected: HashSet::new(),
            live: false,
            lost: HashMap::new(),
            redis: RedisWatch::default(),
        }
    }

    fn handle(&mut self, event: SourceEvent, output: &mut Output) -> std::io::Result<Step> {
        match event {
            SourceEvent::Entries(entries) => return self.entries(entries, output),
            SourceEvent::Json(entries) => return self.print_json(&entries, output),
            SourceEvent::Live => {
                if self.plan.verbose && !self.live {
                    let then = if self.plan.config.follow {
                        "; following new entries"
                    } else {
                        ""
                    };
                    crate::say!("vg: history loaded{then}");
                }
                self.live = true;
                if let Some(held) = self.backfill.take()
                    && let Step::Exit(code) = self.print(held, output)?
                {
                    return Ok(Step::Exit(code));
                }
                // Everything up to `--until` is history: nothing live can match any more.
                if self
                    .plan
                    .filter
                    .until()
                    .is_some_and(|until| until < Utc::now())
                {
                    return Ok(Step::Exit(ExitCode::SUCCESS));
                }
            }
            SourceEvent::Gap(gap) => {
                crate::say!("vg: {}", gap.describe(!self.plan.config.filter.is_empty()));
            }
            SourceEvent::State(state) => self.state(state),
            SourceEvent::Notice(text) => crate::say!("vg: {}", crate::format::sanitize(&text)),
            // On stderr like every notice: stdout stays the entries, for pipes.
            SourceEvent::Alert(alert) => crate::say!("vg: alert {}", alert.line()),
            // The instance's state, not this stream's: said when it changes, and the stream goes on.
            SourceEvent::Redis { state, server } => {
                for line in self.redis.lines(server, state) {
                    crate::say!("vg: {}", crate::format::sanitize(&line));
                }
            }
            SourceEvent::Failed(reason) => {
                crate::say!("vg: {}", crate::format::sanitize(&reason));
                return Ok(Step::Exit(ExitCode::FAILURE));
            }
            SourceEvent::End => {
                if self.plan.verbose {
                    crate::say!("vg: end of stream");
                }
                if let Some(held) = self.backfill.take() {
                    return self.print(held, output);
                }
            }
        }
        Ok(Step::Continue)
    }

    /// Connection steps are said only with `--verbose`; trouble and what ends it always. With
    /// several servers each says its own: the reason names the server.
    fn state(&mut self, state: ConnState) {
        let verbose = self.plan.verbose;
        let several = self.plan.sources.len() > 1;
        match state {
            ConnState::Connecting { target, attempt: 1 }
                if verbose && !self.ever_connected.contains(&target) =>
            {
                crate::say!("vg: connecting to {target}");
            }
            ConnState::Connecting { .. } => {}
            ConnState::Connected { target, server } => {
                if self.lost.remove(&target).is_some() {
                    // Said after a retry line, so the user knows the trouble is over.
                    let others = self.still_down();
                    crate::say!("vg: reconnected to {target}{others}");
                } else if verbose && !self.ever_connected.contains(&target) {
                    match self.plan.config.kind {
                        SourceKind::Server { .. } => crate::say!(
                            "vg: connected to {target} ({})",
                            crate::format::sanitize(&server)
                        ),
                        SourceKind::File(_) | SourceKind::Stdin => {
                            crate::say!("vg: reading {}", crate::format::sanitize(&target));
                        }
                    }
                }
                self.ever_connected.insert(target);
            }
            ConnState::Reconnecting {
                target,
                retry_at,
                reason,
            } => {
                let now = std::time::Instant::now();
                let last = self.lost.entry(target.clone()).or_default();
                let said = match last {
                    None => true,
                    Some((last, _)) if *last != reason => true,
                    Some((_, at)) => now.duration_since(*at) >= RETRY_REPEAT,
                };
                if said {
                    let wait = retry_at.saturating_duration_since(now);
                    let again = if last.is_some() { "still " } else { "" };
                    *last = Some((reason.clone(), now));
                    // With several servers the reason alone may not say which one.
                    let which = if several && !reason.contains(&target) {
                        format!("{target}: ")
                    } else {
                        String::new()
                    };
                    let others = if several {
                        format!(
                            "; {} of {} servers down",
                            self.lost.len(),
                            self.plan.sources.len()
                        )
                    } else {
                        String::new()
                    };
                    // Said once per outage (and every 30 s), so it must read true for the whole
                    // outage: the first wait alone would look stale after it passed.
                    crate::say!(
                        "vg: {which}{}; {again}retrying until it is back (next try in {:.1}s){others}",
                        crate::format::sanitize(&reason),
                        wait.as_secs_f64()
                    );
                }
            }
            ConnState::Disconnected { reason } => {
                crate::say!("vg: disconnected: {}", crate::format::sanitize(&reason))
            }
        }
    }

    /// `; still down: a:1, b:2` while other servers are down, else nothing.
    fn still_down(&self) -> String {
        if self.lost.is_empty() {
            return String::new();
        }
        let mut down: Vec<&str> = self.lost.keys().map(String::as_str).collect();
        down.sort_unstable();
        format!("; still down: {}", down.join(", "))
    }

    fn entries(&mut self, entries: Vec<LogEntry>, output: &mut Output) -> std::io::Result<Step> {
        let matching = entries.into_iter().filter(|e| self.plan.filter.matches(e));
        match (&mut self.backfill, self.plan.config.tail) {
            (Some(held), Some(limit)) => {
                for entry in matching {
                    if held.len() == limit {
                        held.pop_front();
                    }
                    if limit > 0 {
                        held.push_back(entry);
                    }
                }
                Ok(Step::Continue)
            }
            _ => self.print(matching, output),
        }
    }

    /// Prints a server's entries passed on as JSON: those the filter keeps, each as the server
    /// wrote it when it came in vg's compact form (tested read in place), else as decoded.
    fn print_json(&self, entries: &JsonEntries, output: &mut Output) -> std::io::Result<Step> {
        let filter = &self.plan.filter;
        let everything = filter.passes_all();
        let now = Utc::now();
        for passed in entries.iter() {
            let written = match passed {
                Passed::Flat(json) => {
                    let keep = everything
                        || match FlatLine::of(json) {
                            Some(flat) if !filter.reads_meta() => filter.matches_flat(&flat),
                            _ => serde_json::from_str::<LogEntry>(json)
                                .is_ok_and(|entry| filter.matches(&entry)),
                        };
                    if !keep {
                        continue;
                    }
                    output.write_json_text(json)
                }
                Passed::Entry(entry) if filter.matches(entry) => output.write(entry, now),
                Passed::Entry(_) => continue,
            };
            if let Some(step) = stop_on_broken_pipe(written)? {
                return Ok(step);
            }
        }
        Ok(Step::Continue)
    }

    fn print(
        &self,
        entries: impl IntoIterator<Item = LogEntry>,
        output: &mut Output,
    ) -> std::io::Result<Step> {
        let now = Utc::now();
        for entry in entries {
            if let Some(step) = stop_on_broken_pipe(output.write(&entry, now))? {
                return Ok(step);
            }
            let message = entry.message.as_str();
            if let Some(pattern) = first_match(self.plan.fail_on.as_ref(), message) {
                crate::say!("vg: an entry matched --fail-on '{pattern}'");
                return Ok(Step::Exit(ExitCode::FAILURE));
            }
            if let Some(pattern) = first_match(self.plan.until_match.as_ref(), message) {
                // The run went as asked: a step, said only with --verbose (the matched entry is
                // on stdout already).
                if self.plan.verbose {
                    crate::say!("vg: an entry matched --until-match '{pattern}'");
                }
                return Ok(Step::Exit(ExitCode::SUCCESS));
            }
        }
        Ok(Step::Continue)
    }
}

/// A reader gone (`vg logs | head`) ends the run successfully; any other write error is an error.
fn stop_on_broken_pipe(written: std::io::Result<Written>) -> std::io::Result<Option<Step>> {
    match written {
        Ok(Written) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Ok(Some(Step::Exit(ExitCode::SUCCESS)))
        }
        Err(e) => Err(e),
    }
}

/// The pattern, when it is set and matches.
fn first_match<'r>(regex: Option<&'r Regex>, message: &str) -> Option<&'r str> {
    regex.filter(|re| re.is_match(message)).map(Regex::as_str)
}
