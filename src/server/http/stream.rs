//! One viewer: hello, backfill, then live entries until the viewer leaves or the server stops.
//!
//! The connection keeps a `cursor`: every seq at or below it has been sent, deliberately filtered
//! out, or reported in a `gap`. It subscribes before reading history, so the two overlap instead of
//! leaving a hole; live entries at or below the cursor were already covered by the backfill and are
//! skipped. The live ring holds seqs without holes, so when it no longer holds `cursor + 1` the viewer
//! fell behind, and the `gap` it produces counts exactly the seqs in between. After a lag the viewer
//! continues with the oldest entry the ring still holds.
//!
//! When the server shuts down, a viewer is first sent everything stamped until then that it has not
//! had, then closed with 1000. An app logs its last words just before it stops, often before the relay
//! has carried them to the live ring, so the newest come from history. A backfill in progress is
//! completed too: after a restart those entries are gone for good. The work is bounded by history; a
//! viewer whose socket will not take it gets [`FINISH_WAIT`], so that the close still comes within
//! the gateway's grace period.

mod alert;
mod budget;
mod close;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use chrono::Utc;
use futures_util::SinkExt;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::{Instant, MissedTickBehavior};

mod merged;
mod stored;

use self::budget::Budget;
pub(crate) use self::close::CLOSE_TRY_AGAIN;
use self::close::{CLOSE_NORMAL, CLOSE_POLICY};
use super::frames::Batch;
use super::state::Shared;
use crate::filter::Filter;
use crate::model::LogEntry;
use crate::server::store::{
    Bounds, Chunk, Scan, Subscription, past_window, window_end, window_start,
};
use crate::wire::{
    ClientMessage, Gap, GapReason, Hello, PROTOCOL_VERSION, ServerMessage, StreamQuery,
};

/// How many live entries one read takes before the loop looks at pings and shutdown again.
const DRAIN_MAX: usize = 4096;
/// How long [`serve`](super::serve) waits for viewers to take their last entries and close frames
/// before returning.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// How long closing waits for the close frame to go out and for the peer's answer.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// Once the server is shutting down, how long a viewer's socket may take to accept what it is still
/// owed. A viewer that reads keeps up easily; this only bounds one that does not.
const FINISH_WAIT: Duration = Duration::from_secs(1);
// Finishing, sending the close frame and waiting for the answer must fit in the gateway's grace.
const _: () =
    assert!(FINISH_WAIT.as_millis() + 2 * CLOSE_WAIT.as_millis() <= CLOSE_GRACE.as_millis());

const SHUTTING_DOWN: &str = "server shutting down";

/// The peer is gone or must be dropped; nothing more can be sent.
struct Gone;

/// Whether a forward read of history may go on: an `until` window ends at its first later entry.
#[derive(Debug, PartialEq, Eq)]
enum Window {
    Open,
    Ended,
}

struct Connection {
    socket: WebSocket,
    shared: Arc<Shared>,
    filter: Filter,
    cursor: u64,
    batch: Batch,
    shutdown: watch::Receiver<bool>,
    /// When sending must be done, set at the first send after the server began shutting down.
    finish_by: Option<Instant>,
    last_heard: Instant,
    /// This viewer's share of the bytes all viewers' sockets may hold.
    budget: Budget,
    /// The server's alert notifications, when it has alert rules.
    alerts: Option<tokio::sync::broadcast::Receiver<Arc<crate::server::alerts::Notification>>>,
}

/// Runs one viewer to the end. The permit is the viewer's slot under the connection limit.
pub(crate) async fn run(
    socket: WebSocket,
    shared: Arc<Shared>,
    query: Result<(StreamQuery, Filter), String>,
    permit: OwnedSemaphorePermit,
) {
    let _permit = permit;
    let config = &shared.config;
    let batch = Batch::new(
        config.batch_entries,
        config.batch_bytes,
        config.write_buffer_bytes / 2,
    );
    let mut conn = Connection {
        socket,
        shutdown: shared.shutdown.subscribe(),
        shared: Arc::clone(&shared),
        filter: Filter::all(),
        cursor: 0,
        batch,
        finish_by: None,
        last_heard: Instant::now(),
        budget: Budget::new(Arc::clone(&shared.viewer_bytes)),
        alerts: shared.alerts.get().map(|alerts| alerts.subscribe()),
    };
    if *conn.shutdown.borrow() {
        conn.close(CLOSE_NORMAL, SHUTTING_DOWN).await;
        return;
    }
    let (query, filter) = match query {
        Ok(ok) => ok,
        Err(message) => {
            // Retrying the same query cannot help: 1008 tells the client to stop.
            if conn.send(&ServerMessage::Error { message }).await.is_ok() {
                conn.close(CLOSE_POLICY, "invalid filter").await;
            }
            return;
        }
    };
    conn.filter = filter;
    if conn.stream(&query).await.is_err() && conn.out_of_time() {
        // Too slow to take what it was owed before shutdown: it still learns why the stream ends.
        conn.close(CLOSE_NORMAL, SHUTTING_DOWN).await;
    }
}

impl Connection {
    async fn stream(&mut self, query: &StreamQuery) -> Result<(), Gone> {
        if let (Some(cursor), Some(cluster)) = (&query.cursor, self.shared.cluster.get()) {
            let cursor = Some(cursor.clone()).filter(|c| !c.is_empty());
            let cluster = cluster.clone();
            return self.merged(query, &cluster, cursor).await;
        }
        // Subscribe first: from here on nothing can be emitted that this viewer would not see.
        let (live, bounds) = self.shared.emitter.subscribe();
        let hello = Hello {
            protocol: PROTOCOL_VERSION,
            server: self.shared.config.server_name.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            instance: self.shared.emitter.instance().map(str::to_owned),
            boot: self.shared.history.identity().to_owned(),
            newest_seq: bounds.newest,
            oldest_seq: bounds.oldest,
            oldest_time: bounds.oldest_time,
            cursor: None,
        };
        self.send(&ServerMessage::Hello(hello)).await?;
        self.backfill(query, bounds).await?;
        self.cursor = bounds.newest.unwrap_or(0);
        self.send(&ServerMessage::Live).await?;
        if !query.follow {
            self.close(CLOSE_NORMAL, "complete").await;
            return Ok(());
        }
        self.live(live).await
    }

    /// Sends what the query asks for from history, up to `bounds.newest`.
    async fn backfill(&mut self, query: &StreamQuery, bounds: Bounds) -> Result<(), Gone> {
        let boot = self.shared.history.identity();
        let restarted = query.after.is_some() && query.boot.as_deref().is_some_and(|b| b != boot);
        if restarted {
            self.gap(Gap {
                missed: 0,
                from_seq: None,
                to_seq: None,
                reason: GapReason::Restart,
            })
            .await?;
        }
        let Some(newest) = bounds.newest else {
            return Ok(());
        };
        match (query.after, query.tail) {
            // Everything this start of the server emitted, so evictions since seq 1 are reported.
            (Some(_), _) if restarted => self.forward(1, newest).await,
            (Some(after), _) => self.forward(after.saturating_add(1), newest).await,
            (None, Some(tail)) => self.tail(tail, newest).await,
            (None, None) if query.filter.since.is_some() => {
                // Without an index, from the oldest seq `hello` named: what is evicted meanwhile
                // is then reported as a gap, not skipped.
                let oldest = bounds.oldest.unwrap_or(newest);
                let start = window_start(&*self.shared.history, &self.filter, oldest);
                let end = window_end(&*self.shared.history, &self.filter, newest);
                self.forward(start, end).await
            }
            (None, None) => Ok(()),
        }
    }

    /// Sends matching retained entries with `from <= seq <= to`; seqs evicted before they could be
    /// read become an `evicted` gap with the exact range. Shutdown does not cut it short: the range
    /// is bounded by history, and the viewer will not find these entries after a restart.
    async fn forward(&mut self, from: u64, to: u64) -> Result<(), Gone> {
        let history = Arc::clone(&self.shared.history);
        let page = self.shared.config.batch_bytes;
        for chunk in Scan::new(&*history, from, to).max_bytes(page).stored() {
            match chunk {
                Chunk::Missing { from, to } => {
                    self.gap(range_gap(from, to, GapReason::Evicted)).await?;
                }
                Chunk::Lost { from, to } => {
                    self.gap(range_gap(from, to, GapReason::Restart)).await?;
                }
                Chunk::Entries(entries) => {
                    if self.send_chunk(entries).await? == Window::Ended {
                        return self.flush().await;
                    }
                }
                Chunk::Stored(records) => {
                    if self.send_stored(records).await? == Window::Ended {
                        return self.flush().await;
                    }
                }
            }
        }
        self.flush().await
    }

    /// Sends one chunk of history. A socket that stops taking it holds the chunk until dropped,
    /// and entries read from disk (or evicted meanwhile) are nobody else's, so the chunk is charged
    /// to the viewers' pool while it is sent.
    async fn send_chunk(&mut self, entries: Vec<Arc<LogEntry>>) -> Result<Window, Gone> {
        let bytes = entries.iter().map(|e| e.approx_size()).sum();
        if !self.budget.hold_entries(bytes) {
            drop(entries);
            return self.over_budget().await.map(|()| Window::Ended);
        }
        let mut window = Window::Open;
        for entry in &entries {
            if past_window(&self.filter, entry) {
                window = Window::Ended;
                break;
            }
            self.push(entry).await?;
        }
        drop(entries);
        self.budget.release_entries();
        Ok(window)
    }

    /// Sends the last `n` matching entries at or below `newest`, oldest first: read forward from
    /// where they start, so a large tail is held one chunk at a time.
    async fn tail(&mut self, n: usize, newest: u64) -> Result<(), Gone> {
        let history = Arc::clone(&self.shared.history);
        let start = window_start(&*history, &self.filter, 1);
        let end = window_end(&*history, &self.filter, newest);
        let page = self.shared.config.batch_bytes;
        match history.tail_start(&self.filter, start, end, n, page) {
            Some(first) => self.forward(first, end).await,
            None => Ok(()),
        }
    }

    async fn live(&mut self, live: Subscription) -> Result<(), Gone> {
        let period = self.shared.config.ping_interval;
        let mut ping = tokio::time::interval_at(Instant::now() + period, period);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = self.shutdown.changed() => return self.finish(&live).await,
                incoming = self.socket.recv() => self.incoming(incoming).await?,
                // Before entries: a steady flood must not starve the keepalive.
                _ = ping.tick() => {
                    if self.last_heard.elapsed() >= self.shared.config.peer_timeout {
                        tracing::debug!("dropping a viewer that stopped answering pings");
                        return Err(Gone);
                    }
                    self.send_raw(Message::Ping(Default::default())).await?;
                }
                alert = alert::next(&mut self.alerts) => self.alert(alert, Some(&live)).await?,
                entries = next_live(&live, self.cursor, self.shared.config.batch_bytes) => match entries {
                    Some((entries, bytes)) => {
                        // Held while sent; a socket that stops taking them holds them until
                        // dropped, so they are charged to the viewers' pool.
                        if !self.budget.hold_entries(bytes) {
                            drop(entries);
                            return self.over_budget().await;
                        }
                        for entry in &entries {
                            self.on_live(entry).await?;
                        }
                        self.flush().await?;
                        drop(entries);
                        self.budget.release_entries();
                    }
                    None => {
                        self.close(CLOSE_NORMAL, SHUTTING_DOWN).await;
                        return Ok(());
                    }
                },
            }
        }
    }

    /// The server is shutting down: sends what the viewer is still owed, then closes with 1000.
    async fn finish(&mut self, live: &Subscription) -> Result<(), Gone> {
        self.drain(live).await?;
        self.close(CLOSE_NORMAL, SHUTTING_DOWN).await;
        Ok(())
    }

    /// Sends, in seq order, every entry stamped up to now that is after the cursor. The relay may
    /// not have carried the newest to the live ring yet, but history always holds them. The ring is
    /// read first, while it continues the cursor, because it may still hold entries a small history
    /// has evicted; a viewer that lagged past the ring reads history instead, which usually reaches
    /// further back. Whatever neither holds becomes an `evicted` gap.
    async fn drain(&mut self, live: &Subscription) -> Result<(), Gone> {
        let Some(newest) = self.shared.history.bounds().newest else {
            return Ok(());
        };
        // At most the ring's capacity.
        let delivered = live.read(self.cursor, usize::MAX);
        if delivered.first().and_then(|e| e.seq) == Some(self.cursor + 1) {
            let stamped = |e: &&Arc<LogEntry>| e.seq.is_some_and(|s| s <= newest);
            for entry in delivered.iter().take_while(stamped) {
                self.on_live(entry).await?;
            }
        }
        if newest > self.cursor {
            self.forward(self.cursor + 1, newest).await?;
            self.cursor = newest;
        }
        self.flush().await
    }

    async fn on_live(&mut self, entry: &Arc<LogEntry>) -> Result<(), Gone> {
        let Some(seq) = entry.seq else {
            return Ok(());
        };
        if seq <= self.cursor {
            return Ok(());
        }
        if seq > self.cursor + 1 {
            self.gap(range_gap(self.cursor + 1, seq - 1, GapReason::Lagged))
                .await?;
        }
        self.cursor = seq;
        self.push(entry).await
    }

    /// Adds the entry to the batch if it passes the filter; sends the batch when full.
    async fn push(&mut self, entry: &LogEntry) -> Result<(), Gone> {
        if self.filter.matches(entry) {
            // Checked before the entry is written into the frame, with its message as the least it
            // will take: writing a multi-megabyte entry for every viewer is the costly part.
            if !self
                .budget
                .reserve(self.batch.bytes() + entry.message.len())
            {
                return self.over_budget().await;
            }
            self.batch.push(entry);
            if self.batch.is_full() {
                self.flush().await?;
            }
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Gone> {
        match self.batch.take() {
            Some(frame) => self.send_raw(Message::Text(frame.into())).await,
            None => Ok(()),
        }
    }

    /// Sends an alert after the entries it is about. The rules see an entry as it is emitted,
    /// often before the relay has carried it to the live ring, so with `live` the viewer is first
    /// sent everything stamped until now, as at shutdown; without, only what is batched.
    async fn alert(
        &mut self,
        alert: crate::wire::Alert,
        live: Option<&Subscription>,
    ) -> Result<(), Gone> {
        match live {
            Some(live) => self.drain(live).await?,
            None => self.flush().await?,
        }
        self.send(&ServerMessage::Alert(alert)).await
    }

    /// Sends a gap after whatever entries precede it.
    async fn gap(&mut self, gap: Gap) -> Result<(), Gone> {
        self.flush().await?;
        self.shared.metrics.gap(gap.reason, gap.missed);
        self.send(&ServerMessage::Gap(gap)).await
    }

    async fn incoming(
        &mut self,
        incoming: Option<Result<Message, axum::Error>>,
    ) -> Result<(), Gone> {
        let message = match incoming {
            None => return Err(Gone),
            Some(Err(error)) => {
                let limit = self.shared.config.max_message_bytes;
                if let Some((code, reason)) = close::for_read_error(&error.to_string(), limit) {
                    self.close(code, &reason).await;
                }
                return Err(Gone);
            }
            Some(Ok(message)) => message,
        };
        self.last_heard = Instant::now();
        match message {
            Message::Text(text) => match serde_json::from_str::<ClientMessage>(&text) {
                Ok(ClientMessage::Filter(spec)) => match spec.compile(Utc::now()) {
                    Ok(filter) => self.filter = filter,
                    // The previous filter stays in force.
                    Err(e) => {
                        self.send(&ServerMessage::Error {
                            message: e.to_string(),
                        })
                        .await?;
                    }
                },
                Err(e) => {
                    let message = format!("unreadable message from client: {e}");
                    self.send(&ServerMessage::Error { message }).await?;
                }
            },
            Message::Binary(_) => {
                let message = "binary messages are not part of the protocol".to_owned();
                self.send(&ServerMessage::Error { message }).await?;
            }
            Message::Close(_) => {
                // Flushes tungstenite's queued close reply.
                let _ = tokio::time::timeout(CLOSE_WAIT, self.socket.flush()).await;
                return Err(Gone);
            }
            Message::Ping(_) | Message::Pong(_) => {}
        }
        Ok(())
    }

    async fn send(&mut self, message: &ServerMessage) -> Result<(), Gone> {
        self.send_raw(Message::Text(message.to_json().into())).await
    }

    /// Sends one frame; a socket that accepts nothing for the peer timeout (or, once the server is
    /// shutting down, until the time to finish is up) is given up on.
    async fn send_raw(&mut self, message: Message) -> Result<(), Gone> {
        let limit = self.send_limit();
        let bytes = match &message {
            Message::Text(text) => text.len(),
            Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data.len(),
            Message::Close(_) => 0,
        };
        if !self.budget.reserve(bytes) {
            // Not held while the close frame waits on a socket that may not be reading.
            drop(message);
            return self.over_budget().await;
        }
        let sent = tokio::time::timeout(limit, self.socket.send(message)).await;
        self.budget.sent(bytes);
        match sent {
            Ok(Ok(())) => {
                self.shared.metrics.sent(bytes);
                Ok(())
            }
            _ => Err(Gone),
        }
    }

    /// Closes a viewer whose next frame the pool of viewers' memory cannot cover.
    async fn over_budget(&mut self) -> Result<(), Gone> {
        tracing::debug!("closing a viewer: all viewers' buffers are at max_viewer_bytes");
        self.close(
            CLOSE_TRY_AGAIN,
            "viewers' memory limit reached; try again later",
        )
        .await;
        Err(Gone)
    }

    /// How long the next send may wait for the socket. The shutdown clock starts at the first send
    /// that sees the shutdown, so a viewer is never cut off before it had [`FINISH_WAIT`].
    fn send_limit(&mut self) -> Duration {
        if self.finish_by.is_none() && *self.shutdown.borrow() {
            self.finish_by = Some(Instant::now() + FINISH_WAIT);
        }
        let peer_timeout = self.shared.config.peer_timeout;
        self.finish_by.map_or(peer_timeout, |by| {
            by.saturating_duration_since(Instant::now())
                .min(peer_timeout)
        })
    }

    /// Whether the time to finish after a shutdown has run out.
    fn out_of_time(&self) -> bool {
        self.finish_by.is_some_and(|by| Instant::now() >= by)
    }

    /// Sends a close frame and waits (briefly) for the peer's, so the TCP close is clean and the
    /// peer reads the code instead of a reset.
    async fn close(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let sent =
            tokio::time::timeout(CLOSE_WAIT, self.socket.send(Message::Close(Some(frame)))).await;
        if matches!(sent, Ok(Ok(()))) {
            let _ = tokio::time::timeout(CLOSE_WAIT, async {
                while let Some(Ok(message)) = self.socket.recv().await {
                    if matches!(message, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
    }
}

/// The live entries after `cursor` (at most `max_bytes` of them, at least one) and their size,
/// waiting for the relay to deliver some; `None` once the emitter is
/// gone and the ring is drained. Cancel-safe: it only reads.
async fn next_live(
    live: &Subscription,
    cursor: u64,
    max_bytes: usize,
) -> Option<(Vec<Arc<LogEntry>>, usize)> {
    loop {
        // Registered before looking, so a delivery after the look still wakes us.
        let delivered = live.delivered();
        tokio::pin!(delivered);
        delivered.as_mut().enable();
        let closed = live.closed();
        let (entries, bytes) = live.read_sized(cursor, DRAIN_MAX, max_bytes);
        if !entries.is_empty() {
            return Some((entries, bytes));
        }
        if closed {
            return None;
        }
        delivered.await;
    }
}

fn range_gap(from: u64, to: u64, reason: GapReason) -> Gap {
    Gap {
        missed: to - from + 1,
        from_seq: Some(from),
        to_seq: Some(to),
        reason,
    }
}
