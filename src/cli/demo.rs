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
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use self::pace::Pace;
use self::world::World;
use super::serve::{bind, keep_serving_on_hangup, shutdown_signal};
use crate::cli::{Cli, Command, DemoArgs, TuiArgs};
use crate::server::{Emitter, EmitterConfig, Gateway, GatewayConfig, serve};

/// How often the workload wakes to emit what its rate calls for.
const TICK: Duration = Duration::from_millis(100);
/// How much history is made up at start.
const SEED_SPAN: Duration = Duration::from_secs(120);

/// A running demo: one server and workload per simulated instance.
#[derive(Debug)]
pub struct Demo {
    instances: Vec<Instance>,
    /// Several instances publishing through Redis: each serves them all.
    shares_redis: bool,
    stop: watch::Sender<bool>,
}

/// One simulated instance: its emitter, where its server listens, and its tasks.
#[derive(Debug)]
struct Instance {
    addr: SocketAddr,
    emitter: Emitter,
    server: JoinHandle<std::io::Result<()>>,
    workload: JoinHandle<()>,
}

impl Demo {
    /// Binds `args.bind` (by default 127.0.0.1:7007, else a free port), seeds history, and starts serving and the workload in the background.
    /// With `--instances N`, N instances, each a server of its own (the others on free ports of
    /// the same host), publishing through Redis when `--redis` is given.
    pub async fn start(args: &DemoArgs) -> anyhow::Result<Demo> {
        let count = usize::from(args.instances.max(1));
        if count > 1 && args.storage.data_dir.is_some() {
            return Err(crate::cli::UsageError::new(
                "--data-dir keeps one instance's history; leave it out with --instances, or use --instances 1",
            )
            .into());
        }
        let (stop, stopped) = watch::channel(false);
        let mut emitters = Vec::with_capacity(count);
        let mut gateways = Vec::with_capacity(count);
        let mut shares_redis = false;
        for (index, (instance, region)) in world::MACHINES.iter().take(count).enumerate() {
            let mut config = EmitterConfig::default().read_env(false);
            if count > 1 {
                config = config.instance(*instance).region(*region);
            }
            let emitter = super::serve::open_emitter(config, &args.storage, "vg demo")?;
            // As under `vg serve`: nothing else is served, so the dashboard is at the root.
            let mut gateway =
                Gateway::new(emitter.clone(), GatewayConfig::default().dashboard("/"));
            // Publishing starts before the history is seeded, so Redis gets that too.
            if let Some(cluster) = super::serve::start_cluster(&emitter, &args.redis, "vg demo")? {
                if args.no_tui && index == 0 {
                    tokio::spawn(super::serve::watch_redis(cluster.clone(), "vg demo"));
                }
                gateway = gateway.with_cluster(cluster);
                shares_redis = count > 1;
            }
            emitters.push(emitter);
            gateways.push(gateway);
        }
        let first = match &args.bind {
            Some(addr) => bind(addr).await?,
            // Where the clients look by default, so `vg logs` in another terminal just works;
            // any free port when another server already has it.
            None => match bind(crate::cli::DEFAULT_ADDR).await {
                Ok(listener) => listener,
                Err(_) => bind("127.0.0.1:0").await?,
            },
        };
        let host = first.local_addr()?.ip();
        let mut listeners = vec![first];
        for _ in 1..count {
            listeners.push(bind(&SocketAddr::new(host, 0).to_string()).await?);
        }
        let continued = emitters[0].history().bounds().newest.is_some();
        let seed: u64 = rand::random();
        let mut worlds: Vec<World> = (0..count as u64)
            .map(|i| World::new(seed.wrapping_add(i)))
            .collect();
        // A data dir that already holds a stream continues it instead of making up the past again.
        if !continued {
            seed_history(&emitters, &mut worlds, args.rate);
        }
        // The rate is the whole system's, shared by its instances.
        let rate = (args.rate / count as u32).max(1);
        let mut instances = Vec::with_capacity(count);
        let parts = emitters
            .into_iter()
            .zip(gateways)
            .zip(listeners)
            .zip(worlds);
        for (index, (((emitter, gateway), listener), mut world)) in parts.enumerate() {
            let addr = listener.local_addr()?;
            let mut stopped = stopped.clone();
            let server = tokio::spawn(serve(listener, gateway.router(), gateway, async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }));
            // Every feature within the first minute (see `Pace::new`).
            let pace = Pace::new(seed.wrapping_add(index as u64), rate);
            let restart = chrono::TimeDelta::from_std(pace.restart_after()).unwrap_or_default();
            world.schedule_restart(Utc::now() + restart);
            let own = count > 1;
            let workload = tokio::spawn(workload(emitter.clone(), world, pace, own));
            instances.push(Instance {
                addr,
                emitter,
                server,
                workload,
            });
        }
        Ok(Demo {
            instances,
            shares_redis,
            stop,
        })
    }

    /// The address the (first) demo server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.instances[0].addr
    }

    /// The URL viewers connect to: `http://ADDR`, with loopback for an address bound to every
    /// interface (`0.0.0.0` is where a server listens, not where a client connects).
    pub fn url(&self) -> String {
        super::serve::local_url(self.addr())
    }

    /// Every instance's URL, the first's first.
    pub fn urls(&self) -> Vec<String> {
        self.instances
            .iter()
            .map(|i| super::serve::local_url(i.addr))
            .collect()
    }

    /// The emitter the (first) workload logs into.
    pub fn emitter(&self) -> &Emitter {
        &self.instances[0].emitter
    }

    /// The web dashboard's URL: `http://ADDR/`.
    pub fn dashboard_url(&self) -> String {
        format!("http://{}/", self.addr())
    }

    /// Arguments for `vg tui` pointed at this demo, with every other option at its default: the
    /// first instance when they share Redis (it serves them all), else every instance's server.
    pub fn tui_args(&self) -> TuiArgs {
        let urls = if self.shares_redis {
            vec![self.url()]
        } else {
            self.urls()
        };
        let mut argv = vec!["vg".to_owned(), "tui".to_owned()];
        for url in urls {
            argv.extend(["--url".to_owned(), url]);
        }
        // Parsed rather than built field by field, so it stays right as `vg tui` gains options.
        match Cli::try_parse_args(argv).map(|cli| cli.command) {
            Ok(Command::Tui(args)) => args,
            _ => unreachable!("`vg tui --url URL` always parses"),
        }
    }

    /// Stops the workloads, closes viewers and waits for the servers to finish.
    pub async fn shutdown(self) {
        for instance in &self.instances {
            instance.workload.abort();
        }
        let _ = self.stop.send(true);
        for instance in self.instances {
            let _ = instance.server.await;
        }
    }
}

/// `vg demo --no-tui`: print where to connect, serve until Ctrl-C or SIGTERM.
pub async fn serve_until_stopped(demo: Demo) -> anyhow::Result<ExitCode> {
    let stop = shutdown_signal();
    keep_serving_on_hangup("vg demo");
    let urls = demo.urls();
    for url in &urls {
        println!("{url}");
    }
    let url = demo.url();
    if urls.len() == 1 {
        crate::say!("vg demo: serving synthetic logs on {url}");
        crate::say!("  watch with: vg logs --url {url}   or   vg tui --url {url}");
    } else if demo.shares_redis {
        crate::say!(
            "vg demo: {} instances publishing through Redis, served on {}",
            urls.len(),
            urls.join(", ")
        );
        crate::say!(
            "  watch all of them on any one: vg logs --url {url}   or   vg tui --url {url}"
        );
    } else {
        let all: Vec<String> = urls.iter().map(|u| format!("--url {u}")).collect();
        crate::say!(
            "vg demo: {} instances, served on {}",
            urls.len(),
            urls.join(", ")
        );
        crate::say!("  watch all of them: vg tui {}", all.join(" "));
    }
    crate::say!("  dashboard:  {}", demo.dashboard_url());
    crate::say!("  Ctrl-C to stop");
    stop.await;
    demo.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Fills history with entries spread over the last [`SEED_SPAN`], oldest first, the instances
/// taking turns (so a stream they share holds their pasts interleaved, in time order).
fn seed_history(emitters: &[Emitter], worlds: &mut [World], rate: u32) {
    let count = (u64::from(rate) * SEED_SPAN.as_secs() / 4).clamp(50, 5000);
    let now = Utc::now();
    let step = SEED_SPAN / u32::try_from(count).unwrap_or(u32::MAX);
    let own = emitters.len() > 1;
    for i in (0..count).rev() {
        let at = now - step * u32::try_from(i).unwrap_or(0);
        let (emitter, world) = {
            let turn = usize::try_from(i).unwrap_or(0) % emitters.len();
            (&emitters[turn], &mut worlds[turn])
        };
        emitter.emit(own_place(world.entry(at, i % 400 < 10), own));
    }
}

/// With several instances, each entry is the instance's own: the emitter names it.
fn own_place(mut entry: crate::model::LogEntry, own: bool) -> crate::model::LogEntry {
    if own {
        entry.instance = None;
        entry.region = None;
    }
    entry
}

/// Emits what the pace calls for at each tick: about the rate with some jitter, and now and then an
/// incident.
async fn workload(emitter: Emitter, mut world: World, mut pace: Pace, own: bool) {
    let mut tick = tokio::time::interval(TICK);
    let start = Instant::now();
    let mut last = start;
    loop {
        tick.tick().await;
        let now = Instant::now();
        let (count, burst) = pace.tick(now - start, now - last);
        last = now;
        for _ in 0..count {
            emitter.emit(own_place(world.entry(Utc::now(), burst), own));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{FsyncMode, StorageArgs};

    /// A demo on a free loopback port, without Redis or a data dir, that does not start the TUI.
    fn local_demo(instances: u8) -> DemoArgs {
        DemoArgs {
            bind: Some("127.0.0.1:0".into()),
            rate: 40,
            no_tui: true,
            instances,
            redis: crate::cli::RedisArgs {
                url: None,
                stream: "vg:logs".into(),
                max_len: 1000,
                max_age: None,
                ca_cert: None,
                buffer: 1000,
                buffer_bytes: 1 << 20,
            },
            storage: StorageArgs {
                data_dir: None,
                fsync: FsyncMode::Interval,
                retention_bytes: 1 << 30,
                retention_age: Duration::from_secs(3600),
                segment_bytes: 1 << 20,
            },
        }
    }

    #[tokio::test]
    async fn a_demo_serves_seeded_history_and_hands_the_tui_its_url() {
        let args = local_demo(1);
        let demo = Demo::start(&args).await.unwrap();
        assert!(demo.emitter().stats().entries >= 50);
        assert_eq!(demo.tui_args().viewer.source.url, [demo.url()]);
        assert!(demo.url().starts_with("http://127.0.0.1:"));
        demo.shutdown().await;
    }

    #[tokio::test]
    async fn instances_without_redis_each_serve_their_own_and_the_tui_merges_them() {
        let args = local_demo(3);
        let demo = Demo::start(&args).await.unwrap();
        let urls = demo.urls();
        assert_eq!(urls.len(), 3);
        assert_eq!(demo.tui_args().viewer.source.url, urls);
        // Each instance's history is its own, named by its emitter.
        for instance in &demo.instances {
            let name = instance.emitter.instance().unwrap().to_owned();
            let newest = instance.emitter.history().backward(u64::MAX, 10);
            assert!(!newest.is_empty());
            assert!(
                newest
                    .iter()
                    .all(|e| e.instance.as_deref() == Some(name.as_str())),
                "{name}: {newest:?}"
            );
        }
        demo.shutdown().await;
    }
}
