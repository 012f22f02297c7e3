//! `vg serve`: the gateway alone, fed by `POST /api/logs` and, with `--stdin`, by standard input.
//!
//! `myapp 2>&1 | vg serve --stdin` turns any program's output into a stream: each line is decoded as
//! the model describes (vg's JSON, other tools' JSON logs, or plain text). When the input ends the
//! server keeps serving what it holds until it is stopped, so viewers can still read the history.
//!
//! What it prints at start is meant to be used as is: a URL that connects from this machine (never
//! `http://0.0.0.0`), and, when it listens beyond loopback without a token, a warning that anyone
//! who can reach the port can read the logs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::cli::{FsyncMode, RedisArgs, ServeArgs, StorageArgs};
use crate::client::lines::{read_line_capped, stdin_readable};
use crate::model::LogEntry;
use crate::model::decode::{JOIN_IDLE, LineDecoder, ShapeLimits};
use crate::server::alerts::{Alerts, AlertsConfig};
use crate::server::{
    Cluster, ClusterError, DiskConfig, Emitter, EmitterConfig, Fsync, Gateway, GatewayConfig, Rate,
    RateLimits, RedisConfig, Tls, serve,
};

/// Every this many stdin lines, the reader waits for slow sinks (the history writer, Redis, alerts).
const STDIN_SINK_CHECK: u64 = 256;
/// How long it waits for them at most, each time.
const STDIN_SINK_WAIT: Duration = Duration::from_secs(1);
/// How often damaged stdin lines are reported while they keep coming.
const DAMAGE_REPEAT: Duration = Duration::from_secs(10);

/// Runs `vg serve` until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = EmitterConfig::default().history(args.history, args.history_bytes);
    let stop = shutdown_signal();
    // Before anything starts: a bad certificate or key is one line and no server.
    let tls = start_tls(args.tls_cert.as_deref(), args.tls_key.as_deref())?;
    // So is an address in use, before the data dir is created or locked.
    let listener = bind(&args.bind).await?;
    if let Some(name) = name_for_redis(&args.redis, listener.local_addr()?.port()) {
        config = config.instance(name);
    }
    let emitter = open_emitter(config, &args.storage, "vg serve")?;
    let cluster = start_cluster(&emitter, &args.redis, "vg serve")?;
    // The server is only a log gateway, so the dashboard has the root to itself.
    let mut config = GatewayConfig::default()
        .max_connections(args.max_connections)
        .max_http_connections(args.max_http_connections, args.max_connections_per_ip)
        .timeouts(args.header_timeout, args.body_timeout, args.write_timeout)
        .dashboard("/")
        .rate_limits(RateLimits {
            ingest: rate(args.ingest_rate, Duration::from_secs(1), args.ingest_burst),
            connect: rate(
                args.connect_rate,
                Duration::from_secs(60),
                args.connect_burst,
            ),
        });
    let reads_need_token = args.read_token.is_some() || args.token.is_some();
    let ingest_needs_token = args.ingest_token.is_some() || args.token.is_some();
    let (read_var, ingest_var) = match (&args.read_token, &args.ingest_token) {
        (Some(_), _) | (_, Some(_)) => ("VG_READ_TOKEN", "VG_INGEST_TOKEN"),
        _ => ("VG_TOKEN", "VG_TOKEN"),
    };
    // The variable, not `--token`: a command line is visible to other users of the machine.
    let token_hint = match (reads_need_token, read_var) {
        (false, _) => String::new(),
        (true, "VG_TOKEN") => "   (they read the token from VG_TOKEN)".to_owned(),
        (true, var) => format!("   (with VG_TOKEN=\"${var}\")"),
    };
    let curl_auth = if ingest_needs_token {
        format!(" -H \"Authorization: Bearer ${ingest_var}\"")
    } else {
        String::new()
    };
    let open = !reads_need_token || !ingest_needs_token;
    if let Some(token) = args.token {
        config = config.token(token);
    }
    if let Some(token) = args.read_token {
        config = config.read_token(token);
    }
    if let Some(token) = args.ingest_token {
        config = config.ingest_token(token);
    }
    if let Some(tls) = &tls {
        config = config.tls(tls.clone());
    }
    config.allowed_origins = args.allow_origin;
    config.max_concurrent_queries = args.max_history_queries;
    config.max_concurrent_ingest = args.max_ingest_requests;
    config.max_viewer_bytes = args.max_viewer_bytes;
    config.ingest_wait = args.ingest_wait;
    config.entry_limits = ShapeLimits {
        max_depth: usize::from(args.max_entry_depth),
        max_values: args.max_entry_values,
    };
    let mut gateway = Gateway::new(emitter.clone(), config);
    if let Some(cluster) = &cluster {
        gateway = gateway.with_cluster(cluster.clone());
        tokio::spawn(watch_redis(cluster.clone(), "vg serve"));
    }
    if let Some(path) = &args.alerts {
        let alerts = start_alerts(&emitter, path)?;
        tokio::spawn(watch_notifiers(alerts.clone()));
        gateway.alerts(alerts);
    }
    if tls.is_none() && args.alerts.is_none() {
        keep_serving_on_hangup("vg serve");
    }
    let addr = listener.local_addr()?;
    let url = local_url_with(addr, tls.is_some());
    if let Some(tls) = &tls {
        crate::say!(
            "vg serve: HTTPS with {} (reload with SIGHUP)",
            tls.cert_path().display()
        );
    }
    if addr.ip().is_unspecified() {
        crate::say!(
            "vg serve: listening on {addr} (every interface: from other machines use this host's name or address); on this machine: {url}"
        );
    } else {
        crate::say!("vg serve: listening on {url}");
    }
    if open && !addr.ip().is_loopback() {
        let (what, can) = match (reads_need_token, ingest_needs_token) {
            (false, false) => ("reading or sending", "read the logs and send fake ones"),
            (false, true) => ("reading", "read the logs"),
            _ => ("sending", "send fake logs"),
        };
        crate::say!(
            "vg serve: warning: no token for {what}, and {addr} is reachable from other machines: anyone who can reach this port can {can}; set VG_TOKEN (or VG_READ_TOKEN / VG_INGEST_TOKEN) to require one, or bind 127.0.0.1"
        );
    }
    crate::say!("  watch with: vg logs --url {url}   or   vg tui --url {url}{token_hint}");
    crate::say!("  dashboard:  {url}/");
    crate::say!("  send with:  curl{curl_auth} --data-binary @app.ndjson {url}/api/logs");
    if args.stdin {
        let source = args.stdin_source;
        let (emitter, gateway) = (emitter.clone(), gateway.clone());
        tokio::task::spawn_blocking(move || {
            let mut read = 0u64;
            read_stdin(&source, |entry| {
                // Counted before it is stamped, as every ingest path is (see `GET /metrics`).
                gateway.count_stdin(1);
                emitter.emit(entry);
                read += 1;
                // A pipe can wait: hold the writing program back rather than let the history
                // writer (or another sink) be lapped and miss entries. A sink stuck for longer than
                // this is not waited for; what it misses it counts.
                if read.is_multiple_of(STDIN_SINK_CHECK) {
                    emitter.wait_for_sinks(STDIN_SINK_WAIT);
                }
            });
        });
    }
    serve(listener, gateway.router(), gateway, stop).await?;
    if let Some(cluster) = cluster {
        let left = cluster.stats().buffered;
        if left > 0 {
            let (count, them) = (
                crate::format::entries(left),
                if left == 1 { "it" } else { "them" },
            );
            crate::say!(
                "vg serve: {count} never reached Redis (it did not take {them} before the stop)"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Says on stderr when Redis goes down and when it is back, so an operator watching the server's
/// output need not poll `/healthz`. The state changes only as batches are sent.
pub(crate) async fn watch_redis(cluster: Cluster, command: &'static str) {
    let url = crate::server::redis_display_url(&cluster.config().url);
    let mut said = "connecting";
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let stats = cluster.stats();
        if stats.state == said {
            continue;
        }
        match (said, stats.state) {
            (_, "down") => crate::say!(
                "{command}: Redis at {url} is down ({}); entries wait in a buffer of {} and are published when it is back",
                stats.error.as_deref().unwrap_or("no answer"),
                cluster.config().buffer
            ),
            ("down", "up") => crate::say!(
                "{command}: Redis at {url} is back; {} entries dropped from the full buffer so far",
                stats.overflow
            ),
            (_, "up") => crate::say!("{command}: connected to Redis at {url}"),
            _ => {}
        }
        said = stats.state;
    }
}

/// Says on stderr when an alert notifier starts failing (a notification given up on after every
/// attempt) and when it delivers again, as `/api/alerts` shows it: an operator tailing the server
/// learns that alerts are not reaching anyone.
async fn watch_notifiers(alerts: Alerts) {
    let mut failing = std::collections::HashSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        for line in notifier_news(&mut failing, alerts.status().notifiers) {
            crate::say!("vg serve: {line}");
        }
    }
}

/// What changed since `failing` (the notifiers said to be failing, updated): one line per
/// notifier that began failing or delivers again.
fn notifier_news(
    failing: &mut std::collections::HashSet<String>,
    notifiers: Vec<crate::server::alerts::NotifierHealth>,
) -> Vec<String> {
    let mut news = Vec::new();
    for notifier in notifiers {
        let name = crate::format::sanitize(&notifier.name).into_owned();
        match (
            failing.contains(&notifier.name),
            notifier.state == "failing",
        ) {
            (false, true) => {
                let error = notifier.last_error.as_deref().unwrap_or("no answer");
                news.push(format!(
                    "alert notifier {name:?} is failing: {}; notifications to it are counted as failed (GET /api/alerts)",
                    crate::format::sanitize(error)
                ));
                failing.insert(notifier.name);
            }
            (true, false) => {
                news.push(format!(
                    "alert notifier {name:?} delivers again; {} notifications failed so far",
                    notifier.failed
                ));
                failing.remove(&notifier.name);
            }
            _ => {}
        }
    }
    news
}

/// The certificate and key of `--tls-cert`/`--tls-key`, read and checked, and reread on every
/// SIGHUP: a good pair is served to new connections from then on (open ones keep theirs); a bad
/// one is said on stderr and the pair in force stays.
fn start_tls(
    cert: Option<&std::path::Path>,
    key: Option<&std::path::Path>,
) -> anyhow::Result<Option<Tls>> {
    let (Some(cert), Some(key)) = (cert, key) else {
        return Ok(None);
    };
    let tls = Tls::from_pem_files(cert, key).map_err(|e| {
        crate::cli::UsageError::new(format!(
            "cannot serve HTTPS: {e}; fix it or name other files with --tls-cert and --tls-key"
        ))
    })?;
    #[cfg(unix)]
    if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        let tls = tls.clone();
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let reloading = tls.clone();
                match tokio::task::spawn_blocking(move || reloading.reload()).await {
                    Ok(Ok(())) => crate::say!(
                        "vg serve: reloaded the TLS certificate and key from {} and {}",
                        tls.cert_path().display(),
                        tls.key_path().display()
                    ),
                    Ok(Err(e)) => crate::say!(
                        "vg serve: TLS not reloaded: {e}; the previous certificate stays in use"
                    ),
                    Err(_) => {}
                }
            }
        });
    }
    Ok(Some(tls))
}

/// A per-client limit from `vg serve`'s flags: `count` per `per` (0: no limit), bursts of `burst`
/// (at least 1).
fn rate(count: u32, per: Duration, burst: u32) -> Option<Rate> {
    let count = std::num::NonZeroU32::new(count)?;
    let burst = std::num::NonZeroU32::new(burst.max(1))?;
    Some(Rate::new(count, per, burst))
}

/// Starts the alert rules of `path`, saying on stderr what runs; a bad file is one line per problem
/// and a usage error. SIGHUP reads the file again; a bad file then keeps the rules running and
/// says why.
fn start_alerts(emitter: &Emitter, path: &std::path::Path) -> anyhow::Result<Alerts> {
    // Validated first with the same lines `vg alerts check` prints.
    let rules = crate::cli::alerts::load(path, "vg serve")?;
    let count = rules.specs().count();
    let alerts = Alerts::start_file(emitter, path, AlertsConfig::default())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::say!(
        "vg serve: {count} alert rule{} from {} (reload with SIGHUP or POST /api/alerts/reload)",
        if count == 1 { "" } else { "s" },
        path.display()
    );
    #[cfg(unix)]
    if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        let alerts = alerts.clone();
        let path = path.to_owned();
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let alerts = alerts.clone();
                match tokio::task::spawn_blocking(move || alerts.reload_file()).await {
                    Ok(Ok(n)) => crate::say!(
                        "vg serve: reloaded {}: {n} alert rule{}",
                        path.display(),
                        if n == 1 { "" } else { "s" }
                    ),
                    Ok(Err(error)) => {
                        for problem in &error.problems {
                            crate::say!("vg serve: {}: {problem}", path.display());
                        }
                        crate::say!(
                            "vg serve: {} not reloaded; the previous alert rules keep running",
                            path.display()
                        );
                    }
                    Err(_) => {}
                }
            }
        });
    }
    Ok(alerts)
}

/// The emitter, with durable history when `--data-dir` is given; says on stderr what the data dir
/// holds and what recovery found. A dir in use or written by a newer vg is one line and exit 1.
pub(crate) fn open_emitter(
    config: EmitterConfig,
    storage: &StorageArgs,
    command: &str,
) -> anyhow::Result<Emitter> {
    let Some(dir) = &storage.data_dir else {
        return Ok(Emitter::new(config));
    };
    // Retention evicts whole sealed segments: less than one keeps none of them.
    if storage.retention_bytes < storage.segment_bytes {
        return Err(crate::cli::UsageError::new(format!(
            "--retention-bytes {} is less than one segment ({} bytes): no sealed history would be kept; give at least that",
            storage.retention_bytes, storage.segment_bytes
        ))
        .into());
    }
    let fsync = match storage.fsync {
        FsyncMode::Interval => Fsync::Interval(Duration::from_millis(100)),
        FsyncMode::Always => Fsync::Always,
        FsyncMode::Never => Fsync::Never,
    };
    let disk = DiskConfig::new(dir)
        .fsync(fsync)
        .retention(storage.retention_bytes, storage.retention_age)
        .segment_bytes(storage.segment_bytes);
    let emitter = Emitter::open(config.disk(disk)).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(stats) = emitter.disk_stats() {
        for note in &stats.recovery {
            crate::say!("{command}: recovered {}: {note}", dir.display());
        }
        let next = emitter.history().bounds().newest.map_or(1, |n| n + 1);
        match (stats.oldest_seq, stats.newest_seq) {
            (Some(oldest), Some(newest)) => crate::say!(
                "{command}: history in {}: {} on disk (seqs {oldest}-{newest}); continuing at seq {next}",
                dir.display(),
                crate::format::entries(stats.entries)
            ),
            _ => crate::say!(
                "{command}: history in {} (empty); fsync {}",
                dir.display(),
                stats.fsync
            ),
        }
    }
    Ok(emitter)
}

/// Starts publishing to Redis when `--redis` (or `VG_REDIS_URL`) is given; a bad URL or bound is one
/// line and exit 2. Redis being down is not an error: entries wait until it is back.
pub(crate) fn start_cluster(
    emitter: &Emitter,
    args: &RedisArgs,
    command: &str,
) -> anyhow::Result<Option<Cluster>> {
    let Some(url) = args.url.as_deref().filter(|u| !u.trim().is_empty()) else {
        return Ok(None);
    };
    let mut config = RedisConfig::new(url.trim())
        .stream(args.stream.clone())
        .max_len(args.max_len)
        .buffer(args.buffer)
        .buffer_bytes(args.buffer_bytes);
    if let Some(age) = args.max_age {
        config = config.max_age(age);
    }
    if let Some(path) = &args.ca_cert {
        let pem = std::fs::read(path).map_err(|e| {
            crate::cli::UsageError::new(format!(
                "cannot read --redis-ca-cert {}: {e}",
                path.display()
            ))
        })?;
        config = config.ca_cert_pem(pem);
    }
    let cluster = Cluster::start(emitter, config).map_err(|e| match e {
        ClusterError::Io(_) => anyhow::anyhow!("{e}"),
        _ => crate::cli::UsageError::new(e.to_string()).into(),
    })?;
    let named = match emitter.instance() {
        Some(name) => format!(" as instance {:?}", crate::format::sanitize(name)),
        None => " unnamed (set VG_INSTANCE: every instance's entries look alike)".to_owned(),
    };
    crate::say!(
        "{command}: publishing to Redis stream {:?} at {}{named}",
        args.stream,
        crate::server::redis_display_url(url.trim())
    );
    Ok(Some(cluster))
}

/// The instance name a server publishing to Redis takes when nothing names it (`VG_INSTANCE` or
/// the platform's machine id): this machine's host name and the port it serves on (two servers on
/// one machine are two instances), so that a merged viewer can tell the instances apart. `None`
/// when it does not publish, or is named already.
fn name_for_redis(args: &RedisArgs, port: u16) -> Option<String> {
    args.url.as_deref().filter(|u| !u.trim().is_empty())?;
    if crate::server::instance_from_env().is_some() {
        return None;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    Some(format!("{host}:{port}"))
}

/// A URL a user on this machine can open: `0.0.0.0` and `[::]` are where a server listens, not an
/// address to connect to, so they become the loopback address of the same family.
pub(crate) fn local_url(addr: SocketAddr) -> String {
    local_url_with(addr, false)
}

/// [`local_url`], `https://` when the server speaks TLS.
fn local_url_with(addr: SocketAddr, tls: bool) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{}", SocketAddr::new(ip, addr.port()))
}

/// Binds the listener, explaining a failure in one line. A taken port is the machine's state, not a
/// usage mistake (exit 1); an address that cannot be used at all is (exit 2).
pub(crate) async fn bind(addr: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            anyhow::anyhow!(
                "cannot listen on {addr}: the address is already in use (another vg serve or vg demo?); choose another with --bind, e.g. --bind 127.0.0.1:0 for any free port"
            )
        } else {
            crate::cli::UsageError::new(format!(
                "cannot listen on {addr}: {e}; choose another address with --bind (e.g. 127.0.0.1:7007)"
            ))
            .into()
        }
    })
}

/// Reads lines until end of input, emitting one entry per non-blank line, with continuation lines
/// (stack traces) joined to the entry above. Damaged lines (invalid UTF-8, over 1 MiB) are kept,
/// repaired or cut, and said on stderr as they come, at most every [`DAMAGE_REPEAT`]: a piped
/// app's stdin may never end.
fn read_stdin(source: &str, mut emit: impl FnMut(LogEntry)) {
    let mut input = std::io::BufReader::new(std::io::stdin().lock());
    let mut decoder = LineDecoder::default();
    let mut line = Vec::new();
    let mut damage_said: Option<(u64, std::time::Instant)> = None;
    loop {
        line.clear();
        // A held entry goes out once the pipe has been quiet a moment, not at the next line.
        if input.buffer().is_empty()
            && decoder.holding()
            && !stdin_readable(JOIN_IDLE)
            && let Some(entry) = decoder.flush()
        {
            emit(entry);
        }
        match read_line_capped(&mut input, &mut line) {
            Ok(0) => break,
            Ok(_) => {
                if let Some(entry) = decoder.push(&line, source) {
                    emit(entry);
                }
            }
            Err(e) => {
                crate::say!("vg serve: stopped reading stdin: {e}");
                break;
            }
        }
        let said = damage_said.map_or(0, |(count, _)| count);
        let due = damage_said.is_none_or(|(_, at)| at.elapsed() >= DAMAGE_REPEAT);
        if decoder.damaged > said && due {
            crate::say!(
                "vg serve: {} damaged stdin line(s) so far (invalid UTF-8 or over 1 MiB): kept, repaired or cut (marked vgTruncated=true)",
                decoder.damaged
            );
            damage_said = Some((decoder.damaged, std::time::Instant::now()));
        }
    }
    // The input is over: nothing more can join the held entry.
    if let Some(entry) = decoder.flush() {
        emit(entry);
    }
    let damaged = match decoder.damaged {
        0 => String::new(),
        n => format!(" ({n} damaged: invalid UTF-8 or too long)"),
    };
    crate::say!(
        "vg serve: stdin ended after {} line{}{damaged}; still serving, Ctrl-C to stop",
        decoder.lines,
        if decoder.lines == 1 { "" } else { "s" }
    );
}

/// A server with nothing to reload keeps serving on SIGHUP, which would otherwise end the process on
/// the spot (no graceful stop: a data dir then counts the stop as a crash), and says so. SIGHUP is
/// how a server is asked to reload, and `kill -HUP` may reach every vg process, not only the one
/// whose `--alerts` or `--tls-cert` files changed.
pub(crate) fn keep_serving_on_hangup(name: &'static str) {
    #[cfg(unix)]
    if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                crate::say!(
                    "{name}: SIGHUP: nothing to reload (it reloads --alerts rules and --tls-cert \
                     files); still serving (Ctrl-C or SIGTERM stops it)"
                );
            }
        });
    }
    #[cfg(not(unix))]
    let _ = name;
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one (how platforms ask a server to stop).
///
/// The SIGTERM handler is installed when this is called, not when it is first awaited: call it
/// before announcing the server, so that a stop sent right after the announcement still takes the
/// graceful path (with a data dir, that path records exactly where the stream stopped).
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        #[cfg(unix)]
        if let Some(mut term) = term {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notifier_is_said_failing_once_and_said_back_once() {
        let health = |state: &'static str, failed: u64| crate::server::alerts::NotifierHealth {
            name: "ops".into(),
            state,
            sent: 0,
            failed,
            retries: 0,
            dropped: 0,
            last_error: Some("http://127.0.0.1:9/x answered 502 Bad Gateway".into()),
            last_sent: None,
        };
        let mut failing = std::collections::HashSet::new();
        assert!(notifier_news(&mut failing, vec![health("ok", 0)]).is_empty());
        let news = notifier_news(&mut failing, vec![health("failing", 1)]);
        assert_eq!(news.len(), 1);
        assert!(
            news[0].contains("\"ops\" is failing: http://127.0.0.1:9/x answered 502"),
            "{news:?}"
        );
        assert!(
            notifier_news(&mut failing, vec![health("failing", 2)]).is_empty(),
            "said once"
        );
        let news = notifier_news(&mut failing, vec![health("ok", 2)]);
        assert_eq!(
            news,
            ["alert notifier \"ops\" delivers again; 2 notifications failed so far"]
        );
    }

    #[test]
    fn the_printed_url_is_one_a_user_can_connect_to() {
        for (bound, url) in [
            ("0.0.0.0:7007", "http://127.0.0.1:7007"),
            ("[::]:7007", "http://[::1]:7007"),
            ("127.0.0.1:7007", "http://127.0.0.1:7007"),
            ("192.168.1.5:80", "http://192.168.1.5:80"),
            ("[fe80::1]:7007", "http://[fe80::1]:7007"),
        ] {
            assert_eq!(local_url(bound.parse().unwrap()), url, "{bound}");
        }
    }
}
