//! A merged viewer (`cursor` in the query, on a server publishing to Redis): every instance's
//! entries, read back from the shared Redis stream in its one order, with the stream id as the
//! cursor. `hello` names where the viewer starts; each `entries` frame names the cursor after its
//! last entry, so a viewer that reconnects anywhere, to any instance, resumes exactly there.

use axum::extract::ws::Message;
use tokio::time::{Instant, MissedTickBehavior};

use super::{CLOSE_NORMAL, CLOSE_POLICY, Connection, Gone, SHUTTING_DOWN};
use crate::server::cluster::Cluster;
use crate::server::cluster::reader::{self, Event};
use crate::wire::{
    Gap, GapReason, Hello, PROTOCOL_VERSION, RedisState, ServerMessage, StreamQuery,
};

/// How often a merged viewer's connection looks at the publishing figures (sent only when changed).
const REDIS_STATE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl Connection {
    /// Serves the merged stream from after `cursor` (or from the end, after the `tail` backfill).
    pub(super) async fn merged(
        &mut self,
        query: &StreamQuery,
        cluster: &Cluster,
        cursor: Option<String>,
    ) -> Result<(), Gone> {
        let tail = match (&cursor, query.tail) {
            (Some(_), _) => 0,
            (None, Some(tail)) => tail,
            // As on a plain stream, `since` alone backfills what matches: here from the newest
            // records Redis holds, looking through at most TAIL_SCAN of them.
            (None, None) if query.filter.since.is_some() => reader::TAIL_SCAN,
            (None, None) => 0,
        };
        let mut events = reader::spawn(cluster, cursor, tail, self.filter.clone());
        let period = self.shared.config.ping_interval;
        let mut ping = tokio::time::interval_at(Instant::now() + period, period);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // Redis was down when last asked: said once per outage (also before `hello`, which waits
        // for Redis to say where the stream stands).
        let mut down = false;
        // This instance's publishing figures, sent after `hello` and then when they change.
        let mut publishing = tokio::time::interval(REDIS_STATE_EVERY);
        publishing.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut said: Option<RedisState> = None;
        let mut started = false;
        loop {
            tokio::select! {
                biased;
                _ = self.shutdown.changed() => {
                    self.close(CLOSE_NORMAL, SHUTTING_DOWN).await;
                    return Ok(());
                }
                incoming = self.socket.recv() => self.incoming(incoming).await?,
                _ = ping.tick() => {
                    if self.last_heard.elapsed() >= self.shared.config.peer_timeout {
                        return Err(Gone);
                    }
                    self.send_raw(Message::Ping(Default::default())).await?;
                }
                alert = super::alert::next(&mut self.alerts) => self.alert(alert, None).await?,
                _ = publishing.tick(), if started => {
                    let now = redis_state(cluster);
                    if said.as_ref() != Some(&now) {
                        self.send(&ServerMessage::Redis(now.clone())).await?;
                        said = Some(now);
                    }
                }
                event = events.recv() => {
                    let Some(event) = event else {
                        self.close(CLOSE_NORMAL, SHUTTING_DOWN).await;
                        return Ok(());
                    };
                    if !matches!(event, Event::Down(_)) {
                        down = false;
                    }
                    match event {
                        Event::Start { cursor, backfill, missed } => {
                            self.merged_hello(cursor.clone()).await?;
                            started = true;
                            publishing.reset_immediately();
                            if missed > 0 {
                                self.gap(merged_gap(missed, GapReason::Evicted)).await?;
                            }
                            for entry in &backfill {
                                self.batch.push(entry);
                                if self.batch.is_full() {
                                    // Before `cursor`: resuming from here would skip the rest.
                                    self.flush().await?;
                                }
                            }
                            self.flush_at(&cursor).await?;
                            self.send(&ServerMessage::Live).await?;
                            if !query.follow {
                                self.close(CLOSE_NORMAL, "complete").await;
                                return Ok(());
                            }
                        }
                        Event::Entries { entries, cursor } => {
                            // Without a filter, each record's JSON goes out as it came.
                            let all = self.filter.passes_all();
                            for remote in &entries {
                                if all || remote.entry().is_some_and(|e| self.filter.matches(&e)) {
                                    self.batch.push_json(&remote.json);
                                    if self.batch.is_full() {
                                        self.flush_at(&remote.id).await?;
                                    }
                                }
                            }
                            self.flush_at(&cursor).await?;
                        }
                        Event::Missed { missed } => self.gap(merged_gap(missed, GapReason::Evicted)).await?,
                        Event::Restarted { missed } => self.gap(merged_gap(missed, GapReason::Restart)).await?,
                        // A viewer that only wants what is there now gets an answer, not a
                        // wait for Redis (`vg logs --no-follow` hung until it came back).
                        Event::Down(error) if !started && !query.follow => {
                            let message = format!(
                                "Redis does not answer ({error}); the merged stream of all instances cannot be read until it does (this instance's own entries: vg logs --no-merge, or GET /api/logs)"
                            );
                            self.send(&ServerMessage::Error { message }).await?;
                            self.close(CLOSE_POLICY, "Redis does not answer: no merged stream to read now")
                                .await;
                            return Ok(());
                        }
                        Event::Down(error) => {
                            if !down {
                                let message = format!(
                                    "Redis does not answer ({error}); the merged stream resumes where it was once it does"
                                );
                                self.send(&ServerMessage::Error { message }).await?;
                            }
                            down = true;
                        }
                    }
                }
            }
        }
    }

    async fn merged_hello(&mut self, cursor: String) -> Result<(), Gone> {
        let hello = Hello {
            protocol: PROTOCOL_VERSION,
            server: self.shared.config.server_name.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            instance: self.shared.emitter.instance().map(str::to_owned),
            boot: self.shared.history.identity().to_owned(),
            // Seqs are each instance's own; the merged stream's position is the cursor.
            newest_seq: None,
            oldest_seq: None,
            oldest_time: None,
            cursor: Some(cursor),
        };
        self.send(&ServerMessage::Hello(hello)).await
    }

    /// Sends the batch, if any, with the cursor after it.
    async fn flush_at(&mut self, cursor: &str) -> Result<(), Gone> {
        match self.batch.take_with_cursor(Some(cursor)) {
            Some(frame) => self.send_raw(Message::Text(frame.into())).await,
            None => Ok(()),
        }
    }
}

/// A merged stream's gap, which has no seqs (each instance has its own): entries Redis does not
/// hold for this viewer (`Evicted`: trimmed, or never published), or that an instance's crash may
/// have lost (`Restart`: at most `missed`, as a plain stream's restart gap).
fn merged_gap(missed: u64, reason: GapReason) -> Gap {
    Gap {
        missed,
        from_seq: None,
        to_seq: None,
        reason,
    }
}

/// The instance's publishing figures, as `/healthz` shows them.
fn redis_state(cluster: &Cluster) -> RedisState {
    let stats = cluster.stats();
    RedisState {
        state: stats.state.to_owned(),
        buffered: stats.buffered,
        overflow: stats.overflow,
    }
}
