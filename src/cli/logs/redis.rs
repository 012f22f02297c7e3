//! What `vg logs` says about the connected instance's publishing to Redis (a merged stream's
//! `redis` message): a line on stderr when publishing goes down or comes back and when entries were
//! dropped, like alerts and gaps. It is the instance's state, not an error of this stream: the
//! merged stream goes on either way. The server sends the figures at most once a second while they
//! change; `buffered` moving on its own is not news.

use std::collections::HashMap;

use crate::format::thousands;
use crate::wire::RedisState;

/// The figures last heard from each server (one key, `None`, for a single server).
#[derive(Debug, Default)]
pub(super) struct RedisWatch {
    last: HashMap<Option<String>, RedisState>,
}

impl RedisWatch {
    /// The lines to print for `now` from `server`, oldest news first; none when nothing changed
    /// that a user would act on.
    pub(super) fn lines(&mut self, server: Option<String>, now: RedisState) -> Vec<String> {
        let before = self.last.insert(server.clone(), now.clone());
        let prefix = server.map(|s| format!("{s}: ")).unwrap_or_default();
        news(before.as_ref(), &now)
            .into_iter()
            .map(|line| format!("{prefix}{line}"))
            .collect()
    }
}

fn news(before: Option<&RedisState>, now: &RedisState) -> Vec<String> {
    let mut lines = Vec::new();
    let was = before.map(|b| b.state.as_str());
    match now.state.as_str() {
        "down" if was != Some("down") => lines.push(format!(
            "redis: the instance cannot publish to Redis; {} waiting in its buffer",
            entries(now.buffered)
        )),
        "up" if was == Some("down") => {
            lines.push("redis: the instance publishes to Redis again".to_owned());
        }
        _ => {}
    }
    let dropped = now
        .overflow
        .saturating_sub(before.map_or(0, |b| b.overflow));
    if dropped > 0 {
        lines.push(format!(
            "redis: the instance dropped {} its full buffer could not hold ({} since it started); merged viewers miss them",
            entries(dropped),
            thousands(now.overflow)
        ));
    }
    lines
}

fn entries(n: u64) -> String {
    format!(
        "{} {}",
        thousands(n),
        if n == 1 { "entry" } else { "entries" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(state: &str, buffered: u64, overflow: u64) -> RedisState {
        RedisState {
            state: state.into(),
            buffered,
            overflow,
        }
    }

    #[test]
    fn down_up_and_drops_are_said_once_each_and_the_rest_is_quiet() {
        let mut watch = RedisWatch::default();
        assert!(watch.lines(None, state("connecting", 0, 0)).is_empty());
        assert!(watch.lines(None, state("up", 3, 0)).is_empty());
        assert_eq!(
            watch.lines(None, state("down", 1200, 0)),
            ["redis: the instance cannot publish to Redis; 1,200 entries waiting in its buffer"]
        );
        // Still down, more waiting: not news.
        assert!(watch.lines(None, state("down", 1500, 0)).is_empty());
        assert_eq!(
            watch.lines(None, state("down", 2000, 40)),
            [
                "redis: the instance dropped 40 entries its full buffer could not hold (40 since it started); merged viewers miss them"
            ]
        );
        assert_eq!(
            watch.lines(None, state("up", 0, 41)),
            [
                "redis: the instance publishes to Redis again",
                "redis: the instance dropped 1 entry its full buffer could not hold (41 since it started); merged viewers miss them"
            ]
        );
        assert!(watch.lines(None, state("up", 0, 41)).is_empty());
    }

    #[test]
    fn each_server_is_followed_on_its_own_and_named() {
        let mut watch = RedisWatch::default();
        let a = Some(":7007".to_owned());
        let b = Some(":7008".to_owned());
        assert_eq!(
            watch.lines(a.clone(), state("down", 1, 0)),
            [":7007: redis: the instance cannot publish to Redis; 1 entry waiting in its buffer"]
        );
        // Another server's first word is its own: up is quiet, down is said.
        assert!(watch.lines(b.clone(), state("up", 0, 0)).is_empty());
        assert_eq!(
            watch.lines(a, state("up", 0, 0)),
            [":7007: redis: the instance publishes to Redis again"]
        );
        assert_eq!(watch.lines(b, state("down", 5, 0)).len(), 1);
    }
}
