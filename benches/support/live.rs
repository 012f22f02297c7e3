//! A gateway on 127.0.0.1:0 on its own runtime, in-process WebSocket viewers that check every seq,
//! and a paced emitter that times each `emit()` on the calling thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::oneshot;
use vg::server::{Emitter, Gateway, GatewayConfig, serve};
use vg::wire::{Incoming, ServerMessage, decode_server_frame};

#[path = "pace.rs"]
mod pace;

/// A running gateway; dropping it shuts the server down and joins its thread.
pub struct Server {
    /// The base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    pub runtime: tokio::runtime::Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(emitter: Emitter) -> Server {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            let handle = runtime.handle().clone();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let url = format!("http://{}", listener.local_addr().unwrap());
                ready_tx.send((url, handle)).unwrap();
                // Every viewer connects from 127.0.0.1: lift the per-address cap (64 by default) above
                // the largest variant (100 viewers), or the rest are refused with a 503.
                let config = GatewayConfig::default()
                    .max_connections(1000)
                    .max_http_connections(2000, 1000);
                let gateway = Gateway::new(emitter, config);
                let app = gateway.router();
                serve(listener, app, gateway, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        let (url, runtime) = ready_rx.recv().expect("server started");
        Server {
            url,
            runtime,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What one viewer saw.
#[derive(Default)]
pub struct Seen {
    pub entries: AtomicU64,
    /// Seqs that never arrived: `gap` messages plus any jump between consecutive seqs.
    pub missed: AtomicU64,
    pub hello: AtomicU64,
}

/// Connects a live viewer (no backfill) that decodes every frame and checks seqs.
pub fn viewer(server: &Server) -> Arc<Seen> {
    let seen = Arc::new(Seen::default());
    let mine = Arc::clone(&seen);
    let url = format!(
        "{}/api/logs/stream?tail=0",
        server.url.replace("http", "ws")
    );
    server.runtime.spawn(async move {
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        let mut last: Option<u64> = None;
        while let Some(Ok(message)) = ws.next().await {
            let Ok(text) = message.into_text() else {
                continue;
            };
            match decode_server_frame(&text) {
                Ok(Incoming::Message(ServerMessage::Hello(_))) => {
                    mine.hello.store(1, Ordering::Release);
                }
                Ok(Incoming::Message(ServerMessage::Entries { entries })) => {
                    for seq in entries.iter().filter_map(|e| e.seq) {
                        if let Some(prev) = last
                            && seq != prev + 1
                        {
                            mine.missed
                                .fetch_add(seq.saturating_sub(prev + 1), Ordering::Relaxed);
                        }
                        last = Some(seq);
                    }
                    mine.entries
                        .fetch_add(entries.len() as u64, Ordering::Relaxed);
                }
                Ok(Incoming::Message(ServerMessage::Gap(gap))) => {
                    mine.missed.fetch_add(gap.missed, Ordering::Relaxed);
                    last = gap.to_seq.or(last);
                }
                _ => {}
            }
        }
    });
    seen
}

/// Connects `n` viewers and waits until each has its `hello` (so each is subscribed).
pub fn viewers(server: &Server, n: usize) -> Vec<Arc<Seen>> {
    let all: Vec<_> = (0..n).map(|_| viewer(server)).collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while all.iter().any(|s| s.hello.load(Ordering::Acquire) == 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    all
}

/// Emits `total` entries at `rate` a second in 1 ms ticks; returns each `emit()`'s duration in ns.
/// `make` builds entry `i` outside the timed section, and is told the offset from `base` at which
/// it is about to be emitted.
pub fn paced(
    emitter: &Emitter,
    rate: u64,
    total: u64,
    base: Instant,
    mut make: impl FnMut(u64, u64) -> vg::LogEntry,
) -> Vec<u64> {
    let per_tick = (rate / 1000).max(1);
    let start = Instant::now();
    let mut times = Vec::with_capacity(total as usize);
    let mut i = 0;
    while i < total {
        pace::until(pace::tick(start, i, per_tick));
        for _ in 0..per_tick.min(total - i) {
            let entry = make(i, base.elapsed().as_nanos() as u64);
            let t0 = Instant::now();
            emitter.emit(entry);
            times.push(t0.elapsed().as_nanos() as u64);
            i += 1;
        }
    }
    times
}

/// The `q` quantile (0..=1) of `values`, which it sorts.
pub fn quantile(values: &mut [u64], q: f64) -> u64 {
    values.sort_unstable();
    let at = ((values.len() - 1) as f64 * q).round() as usize;
    values[at]
}

/// The median of a few repetitions.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
