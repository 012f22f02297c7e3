//! Which of several servers (`--url` more than once) are up, for the status bar: the merged source
//! passes on every server's own connection states, each naming its target.

use crate::client::ConnState;

/// The last state of each server, in the order they first reported.
#[derive(Debug, Default)]
pub(crate) struct Servers {
    states: Vec<(String, ConnState)>,
}

/// What the status bar shows for several servers.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) up: usize,
    pub(crate) total: usize,
    /// The servers not connected now, with why when known.
    pub(crate) down: Vec<(String, Option<String>)>,
}

impl Servers {
    /// Records a state change (one without a target, as a local source's end, is not a server's).
    pub(crate) fn update(&mut self, state: &ConnState) {
        let target = match state {
            ConnState::Connecting { target, .. }
            | ConnState::Connected { target, .. }
            | ConnState::Reconnecting { target, .. } => target,
            ConnState::Disconnected { .. } => return,
        };
        match self.states.iter_mut().find(|(t, _)| t == target) {
            Some((_, known)) => *known = state.clone(),
            None => self.states.push((target.clone(), state.clone())),
        }
    }

    /// Up and down, once more than one server has reported; `None` for a single source.
    pub(crate) fn summary(&self) -> Option<Summary> {
        if self.states.len() < 2 {
            return None;
        }
        let down = self
            .states
            .iter()
            .filter_map(|(target, state)| match state {
                ConnState::Connected { .. } => None,
                ConnState::Reconnecting { reason, .. } => {
                    Some((target.clone(), Some(reason.clone())))
                }
                _ => Some((target.clone(), None)),
            })
            .collect::<Vec<_>>();
        Some(Summary {
            up: self.states.len() - down.len(),
            total: self.states.len(),
            down,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connected(target: &str) -> ConnState {
        ConnState::Connected {
            target: target.into(),
            server: "vg 0.1.0".into(),
        }
    }

    #[test]
    fn one_server_has_no_summary_and_two_say_which_is_down() {
        let mut servers = Servers::default();
        servers.update(&connected("ws://a:1/"));
        assert_eq!(servers.summary(), None);
        servers.update(&connected("ws://b:2/"));
        servers.update(&ConnState::Reconnecting {
            target: "ws://b:2/".into(),
            retry_at: std::time::Instant::now(),
            reason: "connection refused".into(),
        });
        let summary = servers.summary().unwrap();
        assert_eq!((summary.up, summary.total), (1, 2));
        assert_eq!(
            summary.down,
            [(
                "ws://b:2/".to_owned(),
                Some("connection refused".to_owned())
            )]
        );
        servers.update(&connected("ws://b:2/"));
        assert!(servers.summary().unwrap().down.is_empty());
    }
}
