//! The synthetic system `vg demo` logs about: an API behind a few machines in a few regions, its
//! database, a job worker, auth and a scheduler.
//!
//! Every entry is one a real service of that shape writes: HTTP requests with a realistic status mix
//! and long-tailed latencies, slow queries, retries, failed logins, and now and then a multi-line stack
//! trace. An incident mode ("burst") makes the database refuse connections and the API answer 503s, so
//! the viewer has errors to find.
//!
//! A request is one story on one machine: its auth check and database queries carry its `requestId`,
//! instance and region, and its request line comes last, as the request layer logs it when the
//! response is ready, so `r` on any of them shows one coherent request. One machine restarts once
//! (draining, stopped, started, listening), when the demo asks for it.

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::model::{Level, LogEntry, REQUEST_ID_KEY};

/// The fleet: instance ids and their regions (`vg demo --instances N` runs the first N).
pub(crate) const MACHINES: &[(&str, &str)] = &[
    ("148e7d2a", "ord"),
    ("3d8f0b91", "ord"),
    ("9a21c4e5", "ams"),
    ("c07b6f18", "syd"),
];
const ROUTES: &[(&str, &str, u32)] = &[
    ("GET", "/api/users", 20),
    ("GET", "/api/users/{id}", 25),
    ("GET", "/api/orders", 15),
    ("GET", "/api/orders/{id}", 15),
    ("POST", "/api/orders", 8),
    ("PUT", "/api/users/{id}", 4),
    ("DELETE", "/api/cart/{id}", 3),
    ("POST", "/api/checkout", 5),
    ("GET", "/api/products", 12),
    ("GET", "/healthz", 6),
];
const QUERIES: &[&str] = &[
    "SELECT * FROM orders WHERE user_id = $1 ORDER BY created_at DESC",
    "SELECT p.* FROM products p JOIN inventory i ON i.product_id = p.id WHERE i.count > 0",
    "UPDATE carts SET items = $2, updated_at = now() WHERE id = $1",
    "SELECT count(*) FROM events WHERE created_at > now() - interval '1 day'",
];
const JOBS: &[&str] = &[
    "send-email",
    "resize-image",
    "sync-inventory",
    "charge-card",
    "export-csv",
];

/// How long the restarting machine stays down.
const RESTART_DOWN: chrono::TimeDelta = chrono::TimeDelta::seconds(4);

/// One machine's restart: when it goes down, and then when it comes back.
#[derive(Debug, Clone, Copy)]
enum Restart {
    None,
    At(DateTime<Utc>),
    Down {
        machine: usize,
        until: DateTime<Utc>,
    },
    Done,
}

/// Generates entries; deterministic for a given seed.
#[derive(Debug)]
pub(crate) struct World {
    rng: StdRng,
    /// The rest of a story already begun (a request's queries, then its request line), given out
    /// one entry a call so they interleave with the rest of the system at arrival times.
    pending: std::collections::VecDeque<LogEntry>,
    restart: Restart,
}

impl World {
    pub(crate) fn new(seed: u64) -> World {
        World {
            rng: StdRng::seed_from_u64(seed),
            pending: std::collections::VecDeque::new(),
            restart: Restart::None,
        }
    }

    /// Restarts one machine at `at` (once): the viewer then has a restart to find.
    pub(crate) fn schedule_restart(&mut self, at: DateTime<Utc>) {
        self.restart = Restart::At(at);
    }

    /// One entry at `at`. In a `burst` the system is having an incident.
    pub(crate) fn entry(&mut self, at: DateTime<Utc>, burst: bool) -> LogEntry {
        self.advance_restart(at);
        let mut entry = match self.pending.pop_front() {
            Some(next) => next,
            None => self.begin(burst),
        };
        entry.timestamp = at;
        entry
    }

    /// Starts something new and returns its first entry (the rest wait in `pending`).
    fn begin(&mut self, burst: bool) -> LogEntry {
        let machine = self.machine();
        let mut entry = match self.rng.random_range(0..100) {
            0..70 => {
                let mut story = self.request_story(burst, machine).into_iter();
                let first = story.next().expect("a request has its request line");
                self.pending.extend(story);
                return first;
            }
            // The pool's own complaints belong to no request.
            70..75 => self.database(burst),
            75..88 => self.worker(burst),
            _ => self.scheduler(),
        };
        place(&mut entry, machine);
        entry
    }

    /// A machine that is up.
    fn machine(&mut self) -> usize {
        loop {
            let machine = self.rng.random_range(0..MACHINES.len());
            if !matches!(self.restart, Restart::Down { machine: down, .. } if down == machine) {
                return machine;
            }
        }
    }

    fn advance_restart(&mut self, at: DateTime<Utc>) {
        let say = |level, message: &str, machine| {
            let mut entry = LogEntry::new(level, "api", message);
            place(&mut entry, machine);
            entry
        };
        match self.restart {
            Restart::At(when) if at >= when => {
                let machine = self.rng.random_range(0..MACHINES.len());
                self.pending.extend([
                    say(
                        Level::Warn,
                        "received SIGTERM: draining connections",
                        machine,
                    ),
                    say(
                        Level::Info,
                        "stopped after draining 12 connections",
                        machine,
                    ),
                ]);
                self.restart = Restart::Down {
                    machine,
                    until: at + RESTART_DOWN,
                };
            }
            Restart::Down { machine, until } if at >= until => {
                self.pending.extend([
                    say(Level::Info, "starting api v1.8.3", machine).with_meta("version", "1.8.3"),
                    say(Level::Info, "listening on 0.0.0.0:8080", machine),
                ]);
                self.restart = Restart::Done;
            }
            _ => {}
        }
    }

    /// One request on one machine: maybe an auth check, its queries, then its request line, all
    /// with its id, instance and region. A refused query in a burst makes it a 503.
    fn request_story(&mut self, burst: bool, machine: usize) -> Vec<LogEntry> {
        let id = format!("req_{:08x}", self.rng.random::<u32>());
        let mut story = Vec::with_capacity(4);
        if self.rng.random_bool(0.3) {
            story.push(self.auth());
        }
        let mut spent = 0u64;
        let mut refused = false;
        for _ in 0..self.rng.random_range(0..3) {
            let query = self.database(burst);
            spent += query
                .meta
                .get("duration")
                .and_then(|d| d.as_u64())
                .unwrap_or(0);
            refused |= query.level == Level::Error;
            story.push(query);
        }
        let mut line = self.request(burst && refused, spent);
        // The auth check's user is the request's.
        if let Some(user) = story
            .first()
            .and_then(|e| e.meta.get("userId"))
            .and_then(|u| u.as_str())
            .filter(|_| line.meta.get("userId").is_some())
            .map(str::to_owned)
        {
            line.meta.insert("userId", user);
        }
        story.push(line);
        for entry in &mut story {
            place(entry, machine);
            entry.meta.insert(REQUEST_ID_KEY, id.clone());
        }
        story
    }

    /// The request line; `spent` ms went to its queries, so it took at least that long.
    fn request(&mut self, failed: bool, spent: u64) -> LogEntry {
        let total: u32 = ROUTES.iter().map(|r| r.2).sum();
        let mut pick = self.rng.random_range(0..total);
        let &(method, route, _) = ROUTES
            .iter()
            .find(|r| {
                let hit = pick < r.2;
                pick = pick.saturating_sub(r.2);
                hit
            })
            .unwrap_or(&ROUTES[0]);
        let id = self.rng.random_range(1..5000);
        let path = route.replace("{id}", &id.to_string());
        // Health checks are answered by the load balancer's probe path: always quick and fine.
        let status = if route == "/healthz" {
            200
        } else if failed {
            503
        } else {
            self.status(method)
        };
        // Log-normal-ish latency: most requests take tens of ms, a few take seconds; health checks
        // a fraction of a millisecond, as the request layer logs them (`0.42ms`).
        let duration: serde_json::Value = if route == "/healthz" {
            (f64::from(self.rng.random_range(5u8..95)) / 100.0).into()
        } else {
            let base = (self.rng.random_range(2.0f64..4.5)).exp() as u64;
            let slow = if self.rng.random_bool(0.03) {
                self.rng.random_range(800..4000)
            } else {
                0
            };
            (base + slow + spent).into()
        };
        let level = match status {
            500.. => Level::Error,
            400.. => Level::Warn,
            _ => Level::Info,
        };
        let mut entry = LogEntry::new(
            level,
            "api",
            format!("{method} {path} {status} {duration}ms"),
        )
        .with_meta("method", method)
        .with_meta("path", route)
        .with_meta("statusCode", status)
        .with_meta("duration", duration);
        if route != "/healthz" && self.rng.random_bool(0.7) {
            entry = entry.with_meta(
                "userId",
                format!("user_{}", self.rng.random_range(100..400)),
            );
        }
        entry
    }

    fn status(&mut self, method: &str) -> u16 {
        let ok = match method {
            "POST" => 201,
            "DELETE" => 204,
            _ => 200,
        };
        match self.rng.random_range(0..1000) {
            0..820 => ok,
            820..850 => 304,
            850..890 => 400,
            890..915 => 401,
            915..960 => 404,
            960..975 => 422,
            975..988 => 429,
            988..996 => 500,
            _ => 502,
        }
    }

    fn database(&mut self, burst: bool) -> LogEntry {
        let query = QUERIES[self.rng.random_range(0..QUERIES.len())];
        if burst && self.rng.random_bool(0.5) {
            return LogEntry::new(
                Level::Error,
                "db",
                "connection refused: pool exhausted (20/20 in use)",
            )
            .with_meta(
                "pool",
                json!({"size": 20, "waiting": self.rng.random_range(5..60)}),
            )
            .with_meta("host", "db-primary.internal:5432");
        }
        if self.rng.random_bool(0.15) {
            let ms = self.rng.random_range(1000..6000);
            return LogEntry::new(Level::Warn, "db", format!("slow query ({ms}ms)"))
                .with_meta("query", query)
                .with_meta("duration", ms)
                .with_meta("rows", self.rng.random_range(0..50_000));
        }
        let ms = self.rng.random_range(1..40);
        LogEntry::new(Level::Debug, "db", format!("query ok ({ms}ms)"))
            .with_meta("query", query)
            .with_meta("duration", ms)
            .with_meta("rows", self.rng.random_range(0..200))
    }

    fn worker(&mut self, burst: bool) -> LogEntry {
        let job = JOBS[self.rng.random_range(0..JOBS.len())];
        let id = format!("job_{:06}", self.rng.random_range(0..1_000_000));
        let roll = self.rng.random_range(0..100);
        if roll < 4 || (burst && roll < 20) {
            return LogEntry::new(
                Level::Error,
                "worker",
                format!("job {job} failed\n{}", self.stack_trace(job)),
            )
            .with_meta("job", job)
            .with_meta("id", id);
        }
        if roll < 14 {
            return LogEntry::new(Level::Warn, "worker", format!("retrying job {job}"))
                .with_meta("job", job)
                .with_meta("id", id)
                .with_meta("attempt", self.rng.random_range(2..6));
        }
        let ms = self.rng.random_range(20..3000);
        LogEntry::new(
            Level::Info,
            "worker",
            format!("job {job} completed in {ms}ms"),
        )
        .with_meta("job", job)
        .with_meta("id", id)
        .with_meta("duration", ms)
    }

    fn stack_trace(&mut self, job: &str) -> String {
        if self.rng.random_bool(0.5) {
            format!(
                "Error: connect ETIMEDOUT 10.0.3.7:443\n    at TCPConnectWrap.afterConnect (node:net:1555:16)\n    at \
                 Job.run (/app/jobs/{job}.js:88:14)\n    at async Worker.process (/app/worker.js:41:7)"
            )
        } else {
            format!(
                "thread 'worker-3' panicked at src/jobs/{}.rs:88:14:\ncalled `Result::unwrap()` on an `Err` value: Timeout\n\
                 stack backtrace:\n   0: app::jobs::run\n   1: app::worker::process\n   2: tokio::runtime::task::raw::poll",
                job.replace('-', "_")
            )
        }
    }

    fn auth(&mut self) -> LogEntry {
        let user = format!("user_{}", self.rng.random_range(100..400));
        match self.rng.random_range(0..10) {
            0..6 => LogEntry::new(Level::Info, "auth", "login succeeded")
                .with_meta("userId", user)
                .with_meta(
                    "method",
                    if self.rng.random_bool(0.3) {
                        "oauth"
                    } else {
                        "password"
                    },
                ),
            6..8 => LogEntry::new(Level::Warn, "auth", "login failed: wrong password")
                .with_meta("userId", user)
                .with_meta("ip", format!("203.0.113.{}", self.rng.random_range(1..255))),
            _ => LogEntry::new(Level::Debug, "auth", "session token refreshed")
                .with_meta("userId", user),
        }
    }

    fn scheduler(&mut self) -> LogEntry {
        let task = [
            "nightly-report",
            "cleanup-carts",
            "rotate-keys",
            "warm-cache",
        ][self.rng.random_range(0..4)];
        if self.rng.random_bool(0.5) {
            LogEntry::new(Level::Info, "scheduler", format!("cron {task} started"))
                .with_meta("task", task)
        } else {
            let ms = self.rng.random_range(100..20_000);
            LogEntry::new(
                Level::Info,
                "scheduler",
                format!("cron {task} finished in {ms}ms"),
            )
            .with_meta("task", task)
            .with_meta("duration", ms)
        }
    }
}

/// Puts an entry on a machine.
fn place(entry: &mut LogEntry, machine: usize) {
    let (instance, region) = MACHINES[machine];
    entry.instance = Some(instance.to_owned());
    entry.region = Some(region.to_owned());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn a_realistic_mix() {
        let mut world = World::new(7);
        let now = Utc::now();
        let entries: Vec<LogEntry> = (0..3000).map(|i| world.entry(now, i % 10 == 0)).collect();
        let sources: BTreeSet<&str> = entries.iter().map(|e| e.source.as_str()).collect();
        assert_eq!(
            sources,
            BTreeSet::from(["api", "auth", "db", "scheduler", "worker"])
        );
        let regions: BTreeSet<_> = entries.iter().filter_map(|e| e.region.as_deref()).collect();
        assert!(regions.len() >= 3);
        let statuses: BTreeSet<u64> = entries
            .iter()
            .filter_map(|e| e.meta.get("statusCode").and_then(|v| v.as_u64()))
            .map(|s| s / 100)
            .collect();
        assert_eq!(statuses, BTreeSet::from([2, 3, 4, 5]));
        let request =
            regex::Regex::new(r"^(GET|POST|PUT|DELETE) /\S* \d{3} \d+(\.\d+)?ms$").unwrap();
        assert!(
            entries
                .iter()
                .filter(|e| e.source == "api")
                .all(|e| request.is_match(&e.message))
        );
        assert!(
            entries.iter().any(|e| e.message.lines().count() > 3),
            "a stack trace"
        );
        assert!(entries.iter().any(|e| e.message.starts_with("slow query")));
        for level in [Level::Debug, Level::Info, Level::Warn, Level::Error] {
            assert!(entries.iter().any(|e| e.level == level), "{level:?}");
        }
        assert!(
            entries
                .iter()
                .filter(|e| e.meta.get("path").is_some_and(|p| p == "/healthz"))
                .all(|e| e.meta["statusCode"] == 200),
            "health checks pass"
        );
        assert!(
            entries
                .iter()
                .any(|e| e.message.ends_with(" 0ms") || e.message.contains(" 0.")),
            "a sub-millisecond health check"
        );
        let mut per_request = std::collections::HashMap::<&str, usize>::new();
        for id in entries
            .iter()
            .filter_map(|e| e.meta.get("requestId")?.as_str())
        {
            *per_request.entry(id).or_default() += 1;
        }
        assert!(
            per_request.values().filter(|n| **n > 1).count() > 100,
            "queries and auth checks belong to requests, so `r` finds more than one row"
        );
    }

    #[test]
    fn a_request_is_one_story_on_one_machine_with_its_line_last() {
        let mut world = World::new(11);
        let now = Utc::now();
        let mut entries: Vec<LogEntry> = (0..3000).map(|i| world.entry(now, i % 10 == 0)).collect();
        // The story under way when the sample ends, finished.
        while !world.pending.is_empty() {
            entries.push(world.entry(now, false));
        }
        let mut stories = std::collections::HashMap::<&str, Vec<&LogEntry>>::new();
        for e in &entries {
            if let Some(id) = e.meta.get("requestId").and_then(|v| v.as_str()) {
                stories.entry(id).or_default().push(e);
            }
        }
        assert!(stories.values().filter(|s| s.len() > 1).count() > 100);
        for (id, story) in &stories {
            let (last, before) = story.split_last().unwrap();
            assert!(
                last.meta.get("statusCode").is_some(),
                "{id}: the request line is last"
            );
            assert!(
                before.iter().all(|e| e.meta.get("statusCode").is_none()),
                "{id}"
            );
            assert!(
                story
                    .iter()
                    .all(|e| (&e.instance, &e.region) == (&last.instance, &last.region)),
                "{id}: one machine"
            );
            if before.iter().any(|e| e.level == Level::Error) && last.meta["statusCode"] != 200 {
                assert_eq!(
                    last.meta["statusCode"], 503,
                    "{id}: a refused query fails it"
                );
            }
        }
    }

    #[test]
    fn one_machine_restarts_once_and_is_quiet_meanwhile() {
        let mut world = World::new(3);
        let start = Utc::now();
        world.schedule_restart(start + chrono::TimeDelta::seconds(2));
        let entries: Vec<LogEntry> = (0..400)
            .map(|i| world.entry(start + chrono::TimeDelta::milliseconds(i * 25), false))
            .collect();
        let said = |text: &str| {
            entries
                .iter()
                .position(|e| e.message.starts_with(text))
                .unwrap_or_else(|| panic!("{text}"))
        };
        let (down, up) = (said("received SIGTERM"), said("listening on"));
        assert!(said("stopped") < said("starting api") && down < up);
        let machine = &entries[down].instance;
        assert_eq!(&entries[up].instance, machine);
        let between = &entries[said("stopped") + 1..said("starting api")];
        assert!(between.len() > 50, "down for a while");
        assert!(
            between.iter().all(|e| &e.instance != machine),
            "quiet while down"
        );
    }
}
