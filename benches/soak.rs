//! Soak: `vg serve` under ingest, reading viewers, stalled viewers, history queries (read and
//! never read) and half-sent requests, all at once, for ten minutes. Samples the server's resident
//! set, open file descriptors and `/healthz` latency over time and prints them as a Markdown table
//! (docs/benchmarks.md). Flat lines are the result to look for; a growing column is a leak.
//!
//! ```sh
//! cargo build --release --features server
//! VG_BIN=target/release/vg cargo bench --features server --bench soak
//! ```
//!
//! `VG_SOAK_SECS` sets the duration (default 600) and `VG_SOAK_SAMPLES` the rows (default 20). The
//! server binds 127.0.0.1:0; every client is on loopback and everything stops by itself.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Entries per ingest request, and requests per second: 2,000 entries/s.
const BATCH: usize = 200;
const POSTS_PER_SECOND: u64 = 10;
const READING_VIEWERS: usize = 20;
const STALLED_VIEWERS: usize = 20;
/// Half-sent requests opened per second (each is cut off by the header timeout).
const SLOWLORIS_PER_SECOND: usize = 5;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn vg_bin() -> String {
    std::env::var("VG_BIN")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/vg").to_owned())
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let mut child = Command::new(vg_bin())
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            // Every client here is one address; the per-address caps would stop the soak itself.
            "--max-connections-per-ip",
            "512",
            "--connect-rate",
            "0",
            "--ingest-rate",
            "0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vg serve (build it: cargo build --release --features server, or set VG_BIN)");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("vg serve said where it listens")
            .unwrap();
        if let Some(at) = line.find("http://") {
            let url = line[at + 7..].split_whitespace().next().unwrap();
            break url.parse().unwrap();
        }
    };
    // Keep draining stderr so the server never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    Server { child, addr }
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// One request on a fresh connection, read to the end; the status and the body.
async fn request(addr: SocketAddr, head: &str, body: &[u8]) -> Option<(u16, Vec<u8>)> {
    let run = async {
        let mut tcp = TcpStream::connect(addr).await.ok()?;
        let head = format!(
            "{head}\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        tcp.write_all(head.as_bytes()).await.ok()?;
        tcp.write_all(body).await.ok()?;
        let mut raw = Vec::new();
        tcp.read_to_end(&mut raw).await.ok()?;
        let status = std::str::from_utf8(raw.get(9..12)?).ok()?.parse().ok()?;
        Some((status, raw))
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .ok()
        .flatten()
}

fn body(seq: &mut u64) -> Vec<u8> {
    let mut out = String::new();
    for _ in 0..BATCH {
        *seq += 1;
        let n = *seq;
        out.push_str(&format!(
            "{{\"level\":\"{}\",\"source\":\"api\",\"msg\":\"GET /api/orders/{n} 200 {}ms\",\"meta\":{{\"path\":\"/api/orders\",\"statusCode\":200,\"duration\":{},\"userId\":\"user_{}\",\"requestId\":\"req_{n:08x}\"}}}}\n",
            if n.is_multiple_of(50) { "error" } else { "info" },
            n % 900,
            n % 900,
            n % 1000
        ));
    }
    out.into_bytes()
}

#[derive(Default)]
struct Counts {
    posted: AtomicU64,
    post_failed: AtomicU64,
    received: AtomicU64,
    queries: AtomicU64,
}

async fn ingest(addr: SocketAddr, counts: Arc<Counts>, until: Instant) {
    let mut seq = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / POSTS_PER_SECOND));
    while Instant::now() < until {
        tick.tick().await;
        let body = body(&mut seq);
        match request(addr, "POST /api/logs HTTP/1.1", &body).await {
            Some((200, _)) => counts.posted.fetch_add(BATCH as u64, Ordering::Relaxed),
            _ => counts.post_failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// A viewer that reads everything, reconnecting when closed.
async fn reading_viewer(addr: SocketAddr, counts: Arc<Counts>, until: Instant) {
    while Instant::now() < until {
        let url = format!("ws://{addr}/api/logs/stream?tail=100");
        let Ok((mut ws, _)) = tokio_tungstenite::connect_async(url).await else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        while Instant::now() < until {
            match tokio::time::timeout(Duration::from_secs(1), ws.next()).await {
                Ok(Some(Ok(message))) => {
                    let text = message.into_text().unwrap_or_default();
                    let entries = text.matches("\"seq\":").count() as u64;
                    counts.received.fetch_add(entries, Ordering::Relaxed);
                }
                Ok(_) => break,
                Err(_) => {}
            }
        }
    }
}

/// A viewer that completes the handshake and reads nothing more, through a small receive buffer.
async fn stalled_viewer(addr: SocketAddr, until: Instant) {
    while Instant::now() < until {
        let Ok(socket) = TcpSocket::new_v4() else {
            return;
        };
        let _ = socket.set_recv_buffer_size(4096);
        let Ok(mut tcp) = socket.connect(addr).await else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        let head = format!(
            "GET /api/logs/stream?tail=1000 HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        if tcp.write_all(head.as_bytes()).await.is_err() {
            continue;
        }
        // Held for a minute, then replaced: the server drops it after its peer timeout (it answers
        // no ping), so about as many stalled viewers are always connected.
        tokio::time::sleep_until(until.min(Instant::now() + Duration::from_secs(60)).into()).await;
        drop(tcp);
    }
}

/// History queries: a large one read to the end every second, and every ten seconds one that is
/// never read (cut off by the write timeout).
async fn queries(addr: SocketAddr, counts: Arc<Counts>, until: Instant) {
    let mut n = 0u64;
    let mut held = Vec::new();
    while Instant::now() < until {
        n += 1;
        if request(addr, "GET /api/logs?limit=20000 HTTP/1.1", b"")
            .await
            .is_some()
        {
            counts.queries.fetch_add(1, Ordering::Relaxed);
        }
        if n.is_multiple_of(10)
            && let Ok(socket) = TcpSocket::new_v4()
        {
            let _ = socket.set_recv_buffer_size(4096);
            if let Ok(mut tcp) = socket.connect(addr).await {
                let head = format!("GET /api/logs?limit=1000000 HTTP/1.1\r\nHost: {addr}\r\n\r\n");
                let _ = tcp.write_all(head.as_bytes()).await;
                held.push(tcp);
                if held.len() > 10 {
                    held.remove(0);
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Connections that send half a request head and wait.
async fn slowloris(addr: SocketAddr, until: Instant) {
    let mut held = Vec::new();
    while Instant::now() < until {
        for _ in 0..SLOWLORIS_PER_SECOND {
            if let Ok(mut tcp) = TcpStream::connect(addr).await {
                let _ = tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
                held.push(tcp);
            }
        }
        // Held for a minute at most; the server closes them after its header timeout anyway.
        if held.len() > SLOWLORIS_PER_SECOND * 60 {
            held.drain(..SLOWLORIS_PER_SECOND);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::main]
async fn main() {
    let secs = env_u64("VG_SOAK_SECS", 600);
    let samples = env_u64("VG_SOAK_SAMPLES", 20).max(1);
    let server = start();
    let (addr, pid) = (server.addr, server.child.id());
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let counts = Arc::new(Counts::default());
    let mut tasks = vec![
        tokio::spawn(ingest(addr, Arc::clone(&counts), until)),
        tokio::spawn(queries(addr, Arc::clone(&counts), until)),
        tokio::spawn(slowloris(addr, until)),
    ];
    for _ in 0..READING_VIEWERS {
        tasks.push(tokio::spawn(reading_viewer(
            addr,
            Arc::clone(&counts),
            until,
        )));
    }
    for _ in 0..STALLED_VIEWERS {
        tasks.push(tokio::spawn(stalled_viewer(addr, until)));
    }
    println!(
        "soak: {secs} s; {} entries/s in batches of {BATCH}, {READING_VIEWERS} reading viewers, {STALLED_VIEWERS} stalled viewers, a 20,000-entry history query a second and an unread one every 10 s, {SLOWLORIS_PER_SECOND} half-sent requests a second",
        BATCH as u64 * POSTS_PER_SECOND
    );
    println!();
    println!(
        "| time | RSS (MB) | open fds | /healthz (ms) | viewers | HTTP connections | entries in | entries to viewers | queries | failed posts |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let step = Duration::from_secs(secs) / u32::try_from(samples).unwrap_or(20);
    let mut next = started;
    loop {
        tokio::time::sleep_until((next + step).into()).await;
        next += step;
        let t = Instant::now();
        let health = request(addr, "GET /healthz HTTP/1.1", b"").await;
        let latency = t.elapsed().as_secs_f64() * 1000.0;
        let (viewers, connections) = health
            .as_ref()
            .and_then(|(_, raw)| {
                let text = String::from_utf8_lossy(raw);
                let json: serde_json::Value =
                    serde_json::from_str(text.split_once("\r\n\r\n")?.1).ok()?;
                Some((json["viewers"].clone(), json["connections"]["open"].clone()))
            })
            .unwrap_or_default();
        println!(
            "| {:>4} s | {:.0} | {} | {} | {viewers} | {connections} | {} | {} | {} | {} |",
            started.elapsed().as_secs(),
            rss_mb(pid),
            open_fds(pid),
            if health.is_some() {
                format!("{latency:.1}")
            } else {
                "no answer".to_owned()
            },
            counts.posted.load(Ordering::Relaxed),
            counts.received.load(Ordering::Relaxed),
            counts.queries.load(Ordering::Relaxed),
            counts.post_failed.load(Ordering::Relaxed),
        );
        if Instant::now() >= until {
            break;
        }
    }
    for task in tasks {
        task.abort();
    }
    drop(server);
}
