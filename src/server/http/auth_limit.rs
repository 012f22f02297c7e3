//! Failed authentication, rate-limited per client address.
//!
//! A client that sends a wrong token [`MAX_FAILURES`] times within [`WINDOW`] is refused with 429
//! for the rest of that window, before its token is looked at, so guessing gains nothing from
//! trying faster. Only a wrong token counts: a request that offers none (a health check, a browser's
//! first try) is answered 401 and not held against its address. Each address is reported on stderr
//! at its first failure in a window and when it reaches the limit: the peer and a count, never what
//! it sent. The table of addresses is bounded; when full, expired windows go first, then the oldest.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::listen::client_key;

/// How long failures are counted together, and how long a client over the limit is refused.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
/// Wrong tokens one client address may send within a window.
pub(crate) const MAX_FAILURES: u32 = 10;
/// Most client addresses tracked at once.
const MAX_PEERS: usize = 4096;

#[derive(Debug)]
pub(crate) struct FailedAuth {
    peers: Mutex<HashMap<IpAddr, Window>>,
    capacity: usize,
    failed: AtomicU64,
    limited: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

impl Default for FailedAuth {
    fn default() -> FailedAuth {
        FailedAuth::with_capacity(MAX_PEERS)
    }
}

impl FailedAuth {
    fn with_capacity(capacity: usize) -> FailedAuth {
        FailedAuth {
            peers: Mutex::default(),
            capacity,
            failed: AtomicU64::new(0),
            limited: AtomicU64::new(0),
        }
    }

    /// How long this client is still refused, when it is over the limit; counts the refusal.
    pub(crate) fn refused_for(&self, ip: IpAddr) -> Option<Duration> {
        let peers = self
            .peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = peers.get(&client_key(ip))?;
        let left = WINDOW.checked_sub(window.started.elapsed())?;
        (window.failures >= MAX_FAILURES && !left.is_zero()).then(|| {
            self.limited.fetch_add(1, Ordering::Relaxed);
            left
        })
    }

    /// Counts a wrong token from this client.
    pub(crate) fn failed(&self, ip: IpAddr) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        let key = client_key(ip);
        let mut peers = self
            .peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if peers.len() >= self.capacity && !peers.contains_key(&key) {
            peers.retain(|_, w| w.started.elapsed() < WINDOW);
            if peers.len() >= self.capacity
                && let Some(oldest) = peers.iter().min_by_key(|(_, w)| w.started).map(|(k, _)| *k)
            {
                peers.remove(&oldest);
            }
        }
        let now = Instant::now();
        let window = peers.entry(key).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now.duration_since(window.started) >= WINDOW {
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures += 1;
        match window.failures {
            1 => crate::say!("vg: failed authentication from {ip} (a wrong token)"),
            MAX_FAILURES => crate::say!(
                "vg: {MAX_FAILURES} failed authentications from {ip} within {} s: refusing its requests (429) until the minute is up",
                WINDOW.as_secs()
            ),
            _ => {}
        }
    }

    /// Counts a wrong token from a client whose address is not known.
    pub(crate) fn failed_unknown(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    /// Wrong tokens received, and requests refused for being over the limit, since start.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.failed.load(Ordering::Relaxed),
            self.limited.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_per_client_and_the_table_bounded() {
        let limit = FailedAuth::with_capacity(8);
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..MAX_FAILURES - 1 {
            limit.failed(one);
        }
        assert_eq!(limit.refused_for(one), None);
        limit.failed(one);
        assert!(limit.refused_for(one).is_some_and(|d| d <= WINDOW));
        // Another host, and the same /64 counted as one.
        assert_eq!(limit.refused_for("192.0.2.2".parse().unwrap()), None);
        for n in 0..MAX_FAILURES {
            limit.failed(format!("2001:db8::{n}").parse().unwrap());
        }
        assert!(
            limit
                .refused_for("2001:db8::ffff".parse().unwrap())
                .is_some()
        );
        for n in 0..20 {
            limit.failed(IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n)));
        }
        assert_eq!(limit.peers.lock().unwrap().len(), 8);
        assert_eq!(limit.counts().1, 2);
    }
}
