//! Several servers as one source: `--url` given more than once.
//!
//! Each server is an ordinary source of its own (its own connection, reconnects and resume
//! cursor), so one that is down or slow changes nothing for the others. Their entries pass through
//! a reorder [`window`] that puts near-simultaneous entries in timestamp order, and each is tagged
//! with its server (`host:port`, as its `instance`) unless the app already named its instance.
//! An entry that arrives from two servers (instances of one Redis-merged stream each serve all of
//! it) is shown once ([`seen`]).
//!
//! The consumer sees one event stream: every server's connection states as they are (each names
//! its target, so a viewer can tell which is down), notices and failures prefixed with the server,
//! gaps and Redis figures carrying its label, `Live` once every server has sent its history or is
//! not reachable, and `End` (or `Failed`) only when no server is left.

mod seen;
mod window;

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{CHANNEL_CAPACITY, ConnState, SourceConfig, SourceEvent, SourceKind, stream_url};
use crate::model::LogEntry;
use seen::Seen;
use window::Window;

/// How long an entry may wait for an earlier one from another server.
pub const REORDER_WINDOW: Duration = Duration::from_millis(200);
/// How long the servers' histories are held for one another at the start.
const HISTORY_WAIT: Duration = Duration::from_secs(2);
/// Most entries held for reordering.
const WINDOW_CAPACITY: usize = 50_000;

/// Where each server stands, for `Live` and the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Connecting, or sending its history.
    Loading,
    /// History sent (or not reachable for now): not waited for.
    Ready,
    /// Ended or failed.
    Done,
}

/// One server's part.
struct Member {
    /// The tag its unnamed entries get, and the name its notices carry.
    label: String,
    phase: Phase,
}

/// Starts one source per config, merged into one channel. Every config must name a server.
pub(crate) fn spawn(configs: Vec<SourceConfig>) -> mpsc::Receiver<SourceEvent> {
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    // Each source keeps its own bounded channel; this one only carries which source spoke.
    let (in_tx, in_rx) = mpsc::channel(CHANNEL_CAPACITY);
    let mut members = Vec::with_capacity(configs.len());
    let labels = labels(&configs);
    for (index, (config, label)) in configs.into_iter().zip(labels).enumerate() {
        members.push(Member {
            label,
            phase: Phase::Loading,
        });
        // Merging reorders entries by time: it needs them decoded.
        let mut events = super::spawn(SourceConfig {
            pass_json: false,
            ..config
        });
        let in_tx = in_tx.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if in_tx.send((index, event)).await.is_err() {
                    return;
                }
            }
        });
    }
    drop(in_tx);
    tokio::spawn(run(members, in_rx, tx));
    rx
}

/// The tag each server's unnamed entries get: its host when the hosts differ, else `:port` when
/// they are all one host (the one-line forms show an instance's first few characters, and
/// `127.0.` twice would not tell two local servers apart), else `host:port`.
fn labels(configs: &[SourceConfig]) -> Vec<String> {
    let places: Vec<(String, Option<u16>)> = configs
        .iter()
        .map(|config| match &config.kind {
            SourceKind::Server { url, .. } => stream_url(url).map_or_else(
                |_| (url.clone(), None),
                |u| {
                    (
                        u.host_str().unwrap_or_default().to_owned(),
                        u.port_or_known_default(),
                    )
                },
            ),
            SourceKind::File(path) => (path.display().to_string(), None),
            SourceKind::Stdin => ("stdin".into(), None),
        })
        .collect();
    let hosts: std::collections::HashSet<&str> =
        places.iter().map(|(host, _)| host.as_str()).collect();
    let distinct_hosts = hosts.len() == places.len();
    let one_host = hosts.len() == 1;
    places
        .iter()
        .map(|(host, port)| match port {
            _ if distinct_hosts => host.clone(),
            Some(port) if one_host => format!(":{port}"),
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        })
        .collect()
}

async fn run(
    mut members: Vec<Member>,
    mut input: mpsc::Receiver<(usize, SourceEvent)>,
    tx: mpsc::Sender<SourceEvent>,
) {
    let mut window = Window::new(REORDER_WINDOW, WINDOW_CAPACITY);
    let mut seen = Seen::default();
    let mut live = false;
    // The servers that failed for good (refused, or unreachable on a finite read).
    let mut failed: Vec<String> = Vec::new();
    // The servers' histories arrive at different moments; held together (up to this long, and up
    // to the window's bound) they come out in one order.
    let history_until = Instant::now() + HISTORY_WAIT;
    loop {
        let holding = !live && Instant::now() < history_until;
        let deadline = window
            .next_release()
            .map(|at| if holding { at.max(history_until) } else { at });
        let received = tokio::select! {
            received = input.recv() => received,
            () = sleep_until(deadline) => {
                if !release(&mut window, &tx).await {
                    return;
                }
                continue;
            }
            () = tx.closed() => return,
        };
        let Some((index, event)) = received else {
            // Every source has stopped.
            let mut out = Vec::new();
            window.flush(&mut out);
            if !out.is_empty() {
                let _ = tx.send(SourceEvent::Entries(out)).await;
            }
            return;
        };
        let mut out = Vec::new();
        let mut events = Vec::new();
        match event {
            SourceEvent::Entries(mut entries) => {
                seen.keep_new(&mut entries);
                window.push_tagged(entries, &members[index].label, &mut out);
            }
            // Not asked for (see `spawn`), but taken as entries all the same.
            SourceEvent::Json(entries) => {
                let mut entries = entries.into_entries();
                seen.keep_new(&mut entries);
                window.push_tagged(entries, &members[index].label, &mut out);
            }
            SourceEvent::State(state) => {
                if matches!(state, ConnState::Reconnecting { .. })
                    && members[index].phase == Phase::Loading
                {
                    members[index].phase = Phase::Ready;
                }
                events.push(SourceEvent::State(state));
            }
            SourceEvent::Live => {
                if members[index].phase == Phase::Loading {
                    members[index].phase = Phase::Ready;
                }
            }
            SourceEvent::Gap(mut gap) => {
                // After what this server sent before it.
                window.flush(&mut out);
                gap.server = Some(members[index].label.clone());
                events.push(SourceEvent::Gap(gap));
            }
            SourceEvent::Notice(text) => {
                events.push(SourceEvent::Notice(format!(
                    "{}: {text}",
                    members[index].label
                )));
            }
            SourceEvent::Alert(alert) => events.push(SourceEvent::Alert(alert)),
            SourceEvent::Redis { state, .. } => events.push(SourceEvent::Redis {
                state,
                server: Some(members[index].label.clone()),
            }),
            SourceEvent::Failed(reason) => {
                members[index].phase = Phase::Done;
                let label = &members[index].label;
                failed.push(label.clone());
                if members.iter().all(|m| m.phase == Phase::Done) {
                    window.flush(&mut out);
                    events.push(SourceEvent::Failed(format!("{label}: {reason}")));
                } else {
                    events.push(SourceEvent::Notice(format!(
                        "{label}: {reason}; going on with the other servers"
                    )));
                }
            }
            SourceEvent::End => {
                members[index].phase = Phase::Done;
                if members.iter().all(|m| m.phase == Phase::Done) {
                    window.flush(&mut out);
                    // A finite read that missed a server is not complete: it ends as a failure,
                    // after everything the others had.
                    events.push(if failed.is_empty() {
                        SourceEvent::End
                    } else {
                        SourceEvent::Failed(format!(
                            "not every server could be read ({} of {}): {}",
                            failed.len(),
                            members.len(),
                            failed.join(", ")
                        ))
                    });
                }
            }
        }
        if !live && members.iter().all(|m| m.phase != Phase::Loading) {
            // Every history is in: it comes out whole, in order, before the live stream.
            live = true;
            window.flush(&mut out);
            events.insert(0, SourceEvent::Live);
        }
        if !out.is_empty() && tx.send(SourceEvent::Entries(out)).await.is_err() {
            return;
        }
        for event in events {
            if tx.send(event).await.is_err() {
                return;
            }
        }
        if (live || Instant::now() >= history_until) && !release(&mut window, &tx).await {
            return;
        }
    }
}

/// Sends what the window lets out now; false when the viewer is gone.
async fn release(window: &mut Window, tx: &mpsc::Sender<SourceEvent>) -> bool {
    let mut out: Vec<LogEntry> = Vec::new();
    window.release(Instant::now(), &mut out);
    out.is_empty() || tx.send(SourceEvent::Entries(out)).await.is_ok()
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::FilterSpec;

    fn servers(urls: &[&str]) -> Vec<SourceConfig> {
        urls.iter()
            .map(|url| SourceConfig {
                kind: SourceKind::Server {
                    url: (*url).to_owned(),
                    token: None,
                    ca_certs: Vec::new(),
                },
                filter: FilterSpec::default(),
                tail: None,
                follow: true,
                pass_json: false,
                merged: true,
            })
            .collect()
    }

    #[test]
    fn each_server_is_told_apart_by_the_shortest_label() {
        assert_eq!(
            labels(&servers(&[
                "https://logs-eu.example.com",
                "logs-us.example.com:7007"
            ])),
            ["logs-eu.example.com", "logs-us.example.com"]
        );
        assert_eq!(
            labels(&servers(&["http://127.0.0.1:7007", "127.0.0.1:7008"])),
            [":7007", ":7008"]
        );
        assert_eq!(
            labels(&servers(&["http://a:1", "http://a:2", "http://b:1"])),
            ["a:1", "a:2", "b:1"]
        );
    }
}
