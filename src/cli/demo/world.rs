//! The synthetic system `vg demo` logs about: an API behind a few machines in a few regions, its
//! database, a job worker, auth and a scheduler.
//!
//! Every entry is one a real service of that shape writes: HTTP requests with a realistic status mix
//! and long-tailed latencies, slow queries, retries, failed logins, and now and then a multi-line stack
//! trace. An incident mode ("burst") makes the database refuse connections and the API answer 503s, so
//! the viewer has errors to find.

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::model::{Level, LogEntry, REQUEST_ID_KEY};

const MACHINES: &[(&str, &str)] = &[
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

/// How many recent request ids database and auth entries may belong to.
const RECENT_REQUESTS: usize = 16;

/// Generates entries; deterministic for a given seed.
#[derive(Debug)]
pub(crate) struct World {
    rng: StdRng,
    /// Ids of recent requests, so queries and auth checks can belong to one (and `r` in the viewer
    /// finds a request's whole story).
    recent: std::collections::VecDeque<String>,
}

impl World {
    pub(crate) fn new(seed: u64) -> World {
        World {
            rng: StdRng::seed_from_u64(seed),
            recent: std::collections::VecDeque::with_capacity(RECENT_REQUESTS),
        }
    }

    /// Tags most database and auth entries with a recent request's id, as a traced service would.
    fn in_request(&mut self, entry: LogEntry) -> LogEntry {
        if self.recent.is_empty() || !self.rng.random_bool(0.7) {
            return entry;
        }
        let id = self.recent[self.rng.random_range(0..self.recent.len())].clone();
        entry.with_meta(REQUEST_ID_KEY, id)
    }

    /// One entry at `at`. In a `burst` the system is having an incident.
    pub(crate) fn entry(&mut self, at: DateTime<Utc>, burst: bool) -> LogEntry {
        let roll = self.rng.random_range(0..100);
        let mut entry = match roll {
            0..50 => self.request(burst),
            50..65 => {
                let query = self.database(burst);
                self.in_request(query)
            }
            65..80 => self.worker(burst),
            80..92 => {
                let check = self.auth();
                self.in_request(check)
            }
            _ => self.scheduler(),
        };
        let (instance, region) = MACHINES[self.rng.random_range(0..MACHINES.len())];
        entry.timestamp = at;
        entry.instance = Some(instance.to_owned());
        entry.region = Some(region.to_owned());
        entry
    }

    fn request(&mut self, burst: bool) -> LogEntry {
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
        } else {
            self.status(method, burst)
        };
        // Log-normal-ish latency: most requests take tens of ms, a few take seconds.
        let base = (self.rng.random_range(2.0f64..4.5)).exp();
        let slow = if self.rng.random_bool(0.03) {
            self.rng.random_range(800.0..4000.0)
        } else {
            0.0
        };
        let duration = (base + slow + if burst { 300.0 } else { 0.0 }) as u64;
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
        .with_meta("duration", duration)
        .with_meta(REQUEST_ID_KEY, self.new_request_id());
        if route != "/healthz" && self.rng.random_bool(0.7) {
            entry = entry.with_meta(
                "userId",
                format!("user_{}", self.rng.random_range(100..400)),
            );
        }
        entry
    }

    fn new_request_id(&mut self) -> String {
        let id = format!("req_{:08x}", self.rng.random::<u32>());
        if self.recent.len() == RECENT_REQUESTS {
            self.recent.pop_front();
        }
        self.recent.push_back(id.clone());
        id
    }

    fn status(&mut self, method: &str, burst: bool) -> u16 {
        if burst && self.rng.random_bool(0.4) {
            return if self.rng.random_bool(0.7) { 503 } else { 500 };
        }
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
        let request = regex::Regex::new(r"^(GET|POST|PUT|DELETE) /\S* \d{3} \d+ms$").unwrap();
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
}
