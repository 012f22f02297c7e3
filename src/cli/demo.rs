//! `vg demo`: the server with a realistic synthetic workload, to try vg without an app.
//!
//! [`Demo::start`] binds, serves and starts the workload in the background and returns at once with
//! the address, so the caller can open a viewer on it (the TUI) or just print the URL. The history
//! is seeded with the last couple of minutes, so a viewer has something to show immediately.

mod pace;
mod world;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use self::pace::Pace;
use self::world::World;
use super::serve::{bind, shutdown_signal};
use crate::cli::{Cli, Command, DemoArgs, TuiArgs};
use crate::server::{Emitter, EmitterConfig, Gateway, GatewayConfig, serve};

/// How often the workload wakes to emit what its rate calls for.
const TICK: Duration = Duration::from_millis(100);
/// How much history is made up at start.
const SEED_SPAN: Duration = Duration::from_secs(120);

/// A running demo server and workload.
#[derive(Debug)]
pub struct Demo {
    addr: SocketAddr,
    emitter: Emitter,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<std::io::Result<()>>,
    workload: JoinHandle<()>,
}

impl Demo {
    /// Binds `args.bind` (by default 127.0.0.1:7007, else a free port), seeds history, and starts serving and the workload in the background.
    pub async fn start(args: &DemoArgs) -> anyhow::Result<Demo> {
        let config = EmitterConfig::default().read_env(false);
        let emitter = super::serve::open_emitter(config, &args.storage, "vg demo")?;
        let continued = emitter.history().bounds().newest.is_some();
        // As under `vg serve`: nothing else is served, so the dashboard is at the root.
        let gateway = Gateway::new(emitter.clone(), GatewayConfig::default().dashboard("/"));
        let listener = match &args.bind {
            Some(addr) => bind(addr).await?,
            // Where the clients look by default, so `vg logs` in another terminal just works;
            // any free port when another server already has it.
            None => match bind(crate::cli::DEFAULT_ADDR).await {
                Ok(listener) => listener,
                Err(_) => bind("127.0.0.1:0").await?,
            },
        };
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, gateway.router(), gateway, async {
            let _ = stopped.await;
        }));
        let seed = rand::random();
        let mut world = World::new(seed);
        // A data dir that already holds a stream continues it instead of making up the past again.
        if !continued {
            seed_history(&emitter, &mut world, args.rate);
        }
        // Every feature within the first minute (see `Pace::new`).
        let pace = Pace::new(seed, args.rate);
        let restart = chrono::TimeDelta::from_std(pace.restart_after()).unwrap_or_default();
        world.schedule_restart(Utc::now() + restart);
        let workload = tokio::spawn(workload(emitter.clone(), world, pace));
        Ok(Demo {
            addr,
            emitter,
            stop: Some(stop),
            server,
            workload,
        })
    }

    /// The address the demo server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL viewers connect to: `http://ADDR`, with loopback for an address bound to every
    /// interface (`0.0.0.0` is where a server listens, not where a client connects).
    pub fn url(&self) -> String {
        super::serve::local_url(self.addr)
    }

    /// The emitter the workload logs into.
    pub fn emitter(&self) -> &Emitter {
        &self.emitter
    }

    /// The web dashboard's URL: `http://ADDR/`.
    pub fn dashboard_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Arguments for `vg tui` pointed at this demo, with every other option at its default.
    pub fn tui_args(&self) -> TuiArgs {
        // Parsed rather than built field by field, so it stays right as `vg tui` gains options.
        match Cli::try_parse_args(["vg", "tui", "--url", &self.url()]).map(|cli| cli.command) {
            Ok(Command::Tui(args)) => args,
            _ => unreachable!("`vg tui --url URL` always parses"),
        }
    }

    /// Stops the workload, closes viewers and waits for the server to finish.
    pub async fn shutdown(mut self) {
        self.workload.abort();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.server).await;
    }
}

/// `vg demo --no-tui`: print where to connect, serve until Ctrl-C or SIGTERM.
pub async fn serve_until_stopped(demo: Demo) -> anyhow::Result<ExitCode> {
    let stop = shutdown_signal();
    let url = demo.url();
    println!("{url}");
    crate::say!("vg demo: serving synthetic logs on {url}");
    crate::say!("  watch with: vg logs --url {url}   or   vg tui --url {url}");
    crate::say!("  dashboard:  {}", demo.dashboard_url());
    crate::say!("  Ctrl-C to stop");
    stop.await;
    demo.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Fills history with entries spread over the last [`SEED_SPAN`], oldest first.
fn seed_history(emitter: &Emitter, world: &mut World, rate: u32) {
    let count = (u64::from(rate) * SEED_SPAN.as_secs() / 4).clamp(50, 5000);
    let now = Utc::now();
    let step = SEED_SPAN / u32::try_from(count).unwrap_or(u32::MAX);
    for i in (0..count).rev() {
        let at = now - step * u32::try_from(i).unwrap_or(0);
        emitter.emit(world.entry(at, i % 400 < 10));
    }
}

/// Emits what the pace calls for at each tick: about the rate with some jitter, and now and then an
/// incident.
async fn workload(emitter: Emitter, mut world: World, mut pace: Pace) {
    let mut tick = tokio::time::interval(TICK);
    let start = Instant::now();
    let mut last = start;
    loop {
        tick.tick().await;
        let now = Instant::now();
        let (count, burst) = pace.tick(now - start, now - last);
        last = now;
        for _ in 0..count {
            emitter.emit(world.entry(Utc::now(), burst));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{FsyncMode, StorageArgs};

    #[tokio::test]
    async fn a_demo_serves_seeded_history_and_hands_the_tui_its_url() {
        let args = DemoArgs {
            bind: Some("127.0.0.1:0".into()),
            rate: 40,
            no_tui: true,
            storage: StorageArgs {
                data_dir: None,
                fsync: FsyncMode::Interval,
                retention_bytes: 1 << 30,
                retention_age: Duration::from_secs(3600),
                segment_bytes: 1 << 20,
            },
        };
        let demo = Demo::start(&args).await.unwrap();
        assert!(demo.emitter().stats().entries >= 50);
        assert_eq!(demo.tui_args().viewer.source.url, [demo.url()]);
        assert!(demo.url().starts_with("http://127.0.0.1:"));
        demo.shutdown().await;
    }
}
