//! Reading the merged stream back from Redis for one viewer: a task of its own with one connection,
//! sending what it reads into a small bounded channel (so a slow viewer slows its reader, never
//! the others or Redis), and keeping its place by the Redis stream id, the merged cursor.
//!
//! One read is always ahead: as soon as a batch arrives, the `XREAD` for what follows it is sent
//! (its cursor is the batch's last id), and its reply is checked in a task of its own while this
//! batch is checked for holes and handed over. So Redis's turn, the checking and the viewer's
//! frames overlap instead of taking turns, which is what kept a merged viewer at a third of
//! 90,000 entries/s (docs/benchmarks.md).

mod record;

use std::collections::HashMap;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Cluster;
use crate::filter::Filter;
use crate::model::LogEntry;

/// Most records one `XREAD` returns.
const READ_COUNT: usize = 1000;
/// How long one `XREAD` waits for new records before asking again.
const BLOCK: Duration = Duration::from_millis(1000);
/// Most records a `tail` backfill looks through (newest first) for matching ones, and so also the
/// most a backfill holds.
pub(crate) const TAIL_SCAN: usize = 100_000;
/// Most publishers (instance and boot) whose last seq is remembered, for finding holes.
const TRACKED: usize = 4096;
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// What a merged viewer's reader sends it.
#[derive(Debug)]
pub(crate) enum Event {
    /// The first event: where the stream starts for this viewer, and the `tail` backfill.
    Start {
        /// The merged cursor the viewer starts after.
        cursor: String,
        /// The backfill, oldest first, ending at `cursor`.
        backfill: Vec<LogEntry>,
        /// Records after `cursor` Redis trimmed before this viewer could read them (an upper
        /// bound, see [`Reader::trimmed_after`]).
        missed: u64,
    },
    /// New records: the entries with their ids (unfiltered, stream order) and the cursor after the
    /// last record read.
    Entries {
        /// The entries, each with its stream id.
        entries: Vec<Remote>,
        /// The id of the last record read.
        cursor: String,
    },
    /// Entries of one instance the viewer will never get from Redis: a jump in its seqs within
    /// one publisher (never published, or trimmed while the viewer was behind). `missed` counts them.
    Missed {
        /// How many.
        missed: u64,
    },
    /// An instance started again after a crash that may have lost up to `missed` of its entries
    /// the viewer has not had (seqs it may have stamped and never published).
    Restarted {
        /// At most this many.
        missed: u64,
    },
    /// Redis did not answer; the reader retries from the same cursor.
    Down(String),
}

/// Starts reading for one viewer: after `cursor` when it has one (`Some(id)`), else from the
/// end after sending the newest `tail` entries that pass `filter`. The task ends when the receiver
/// is dropped.
pub(crate) fn spawn(
    cluster: &Cluster,
    cursor: Option<String>,
    tail: usize,
    filter: Filter,
) -> mpsc::Receiver<Event> {
    let (tx, rx) = mpsc::channel(2);
    let reader = Reader {
        client: cluster.client.clone(),
        stream: cluster.config.stream.clone(),
        timeout: cluster.config.timeout,
        last_seq: HashMap::new(),
    };
    tokio::spawn(async move {
        tokio::select! {
            () = reader.run(cursor, tail, filter, &tx) => {}
            () = tx.closed() => {}
        }
    });
    rx
}

/// One entry of the merged stream as Redis holds it: checked to be an entry, but kept as the JSON
/// its instance published, so that a viewer without a filter sends it on without building a
/// `LogEntry` and encoding it again (the merged stream's main cost per entry at high rates).
#[derive(Debug)]
pub(crate) struct Remote {
    /// Its stream id, the merged cursor.
    pub(crate) id: String,
    /// The entry's JSON.
    pub(crate) json: String,
}

impl Remote {
    /// The entry, for a viewer whose filter must look at it (it decodes: it was checked).
    pub(crate) fn entry(&self) -> Option<LogEntry> {
        serde_json::from_str(&self.json).ok()
    }
}

struct Reader {
    client: redis::Client,
    stream: String,
    timeout: Duration,
    /// The last seq seen per publisher (instance and boot: see `Record::origin`): a jump is a hole.
    last_seq: HashMap<String, u64>,
}

/// A record read and its entry's checked JSON (`None`: not an entry, skipped).
struct Read {
    id: String,
    origin: String,
    seq: u64,
    /// On an instance's restart record: the first seq its crash may have lost.
    restart_from: Option<u64>,
    json: Option<String>,
}

/// The read ahead; aborted when dropped, so a viewer that leaves takes its pending `XREAD` along.
struct Ahead(JoinHandle<redis::RedisResult<Vec<Read>>>);

impl Ahead {
    async fn result(&mut self) -> redis::RedisResult<Vec<Read>> {
        match (&mut self.0).await {
            Ok(result) => result,
            Err(e) => Err(redis::RedisError::from(std::io::Error::other(
                e.to_string(),
            ))),
        }
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Reader {
    async fn run(
        mut self,
        cursor: Option<String>,
        tail: usize,
        filter: Filter,
        tx: &mpsc::Sender<Event>,
    ) {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            // A blocked XREAD answers after BLOCK at the latest.
            .set_response_timeout(Some(self.timeout + BLOCK))
            .set_number_of_retries(0);
        let mut conn = match ConnectionManager::new_lazy_with_config(self.client.clone(), config) {
            Ok(conn) => conn,
            Err(e) => {
                let _ = tx.send(Event::Down(e.to_string())).await;
                return;
            }
        };
        let mut pause = RETRY_MIN;
        // Find the starting point, retrying while Redis is down.
        let mut cursor = loop {
            match self
                .start(&mut conn, cursor.as_deref(), tail, &filter)
                .await
            {
                Ok((cursor, backfill, missed)) => {
                    let start = Event::Start {
                        cursor: cursor.clone(),
                        backfill,
                        missed,
                    };
                    if tx.send(start).await.is_err() {
                        return;
                    }
                    break cursor;
                }
                Err(e) => {
                    if tx.send(Event::Down(e.to_string())).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(RETRY_MAX);
                }
            }
        };
        pause = RETRY_MIN;
        let mut ahead = self.read_ahead(&conn, &cursor);
        loop {
            let result = ahead.result().await;
            match result {
                Ok(records) => {
                    pause = RETRY_MIN;
                    let Some(last) = records.last() else {
                        ahead = self.read_ahead(&conn, &cursor);
                        continue;
                    };
                    cursor = last.id.clone();
                    // On its way while this batch is handed over.
                    ahead = self.read_ahead(&conn, &cursor);
                    let mut entries = Vec::with_capacity(records.len());
                    for record in records {
                        let (missed, restarted) = match record.restart_from {
                            Some(_) => (self.restarted(&record.origin, record.seq), true),
                            None => match self.hole(&record.origin, record.seq) {
                                Some(missed) => (missed, false),
                                // Passed on already: in Redis twice (a publish retried past its
                                // dedupe key), never shown twice.
                                None => continue,
                            },
                        };
                        if missed > 0 {
                            let batch = std::mem::take(&mut entries);
                            if !batch.is_empty() {
                                let before = before_id(&record.id);
                                if tx
                                    .send(Event::Entries {
                                        entries: batch,
                                        cursor: before,
                                    })
                                    .await
                                    .is_err()
                                {
                                    return;
                                }
                            }
                            let event = if restarted {
                                Event::Restarted { missed }
                            } else {
                                Event::Missed { missed }
                            };
                            if tx.send(event).await.is_err() {
                                return;
                            }
                        }
                        if let Some(json) = record.json {
                            entries.push(Remote {
                                id: record.id,
                                json,
                            });
                        }
                    }
                    let event = Event::Entries {
                        entries,
                        cursor: cursor.clone(),
                    };
                    if tx.send(event).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    if tx.send(Event::Down(e.to_string())).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(RETRY_MAX);
                    ahead = self.read_ahead(&conn, &cursor);
                }
            }
        }
    }

    /// Where this viewer starts: the cursor, the backfill and how many it missed to trimming.
    async fn start(
        &mut self,
        conn: &mut ConnectionManager,
        cursor: Option<&str>,
        tail: usize,
        filter: &Filter,
    ) -> redis::RedisResult<(String, Vec<LogEntry>, u64)> {
        if let Some(cursor) = cursor {
            let missed = self.trimmed_after(conn, cursor).await?;
            return Ok((cursor.to_owned(), Vec::new(), missed));
        }
        // Newest first, a page at a time, until `tail` match or the scan bound is reached.
        let mut newest: Option<String> = None;
        let mut picked = Vec::new();
        let mut upper = "+".to_owned();
        let mut scanned = 0;
        loop {
            let page = if tail == 0 { 1 } else { READ_COUNT };
            let reply: redis::Value = redis::cmd("XREVRANGE")
                .arg(&self.stream)
                .arg(&upper)
                .arg("-")
                .arg("COUNT")
                .arg(page)
                .query_async(conn)
                .await?;
            let records = record::of_range(reply);
            let Some(last) = records.last() else {
                break;
            };
            upper = format!("({}", last.id);
            if newest.is_none() {
                newest = records.first().map(|r| r.id.clone());
            }
            scanned += records.len();
            for record in &records {
                if picked.len() < tail
                    && let Some(entry) = record.entry().filter(|e| filter.matches(e))
                {
                    picked.push(entry);
                }
                if !self.last_seq.contains_key(&record.origin) {
                    self.last_seq.insert(record.origin.clone(), record.seq);
                }
            }
            if picked.len() >= tail || scanned >= TAIL_SCAN || records.len() < page {
                break;
            }
        }
        picked.reverse();
        // An empty stream: everything from its start is new.
        Ok((newest.unwrap_or_else(|| "0-0".to_owned()), picked, 0))
    }

    /// How many records after `cursor` Redis may no longer hold: 0 when it still holds everything
    /// after it (its first record is at or before the cursor, or nothing was ever trimmed);
    /// otherwise every record trimmed so far, at most (Redis keeps no count of where a given id
    /// stood), and at least 1.
    async fn trimmed_after(
        &self,
        conn: &mut ConnectionManager,
        cursor: &str,
    ) -> redis::RedisResult<u64> {
        let info: HashMap<String, redis::Value> = match redis::cmd("XINFO")
            .arg("STREAM")
            .arg(&self.stream)
            .query_async(conn)
            .await
        {
            Ok(info) => info,
            // No stream yet: nothing was ever trimmed.
            Err(e) if e.to_string().contains("no such key") => return Ok(0),
            Err(e) => return Err(e),
        };
        let text = |key: &str| {
            info.get(key)
                .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
        };
        let number = |key: &str| {
            info.get(key)
                .and_then(|v| redis::from_redis_value_ref::<u64>(v).ok())
                .unwrap_or(0)
        };
        let gone = number("entries-added").saturating_sub(number("length"));
        // Trimming takes from the front: what remains starts at the first record.
        let first = text("recorded-first-entry-id").unwrap_or_else(|| "0-0".to_owned());
        if gone == 0 || compare_ids(&first, cursor).is_le() {
            return Ok(0);
        }
        Ok(gone)
    }

    /// Sends the `XREAD` for the records after `cursor` (waiting up to [`BLOCK`] for some) and
    /// checks their entries, in a task of its own.
    fn read_ahead(&self, conn: &ConnectionManager, cursor: &str) -> Ahead {
        let mut conn = conn.clone();
        let read = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(READ_COUNT)
            .arg("BLOCK")
            .arg(BLOCK.as_millis() as u64)
            .arg("STREAMS")
            .arg(&self.stream)
            .arg(cursor)
            .to_owned();
        Ahead(tokio::spawn(async move {
            let reply: redis::Value = read.query_async(&mut conn).await?;
            Ok(record::of_xread(reply)
                .into_iter()
                .map(|mut record| Read {
                    json: record.take_json(),
                    id: record.id,
                    origin: record.origin,
                    seq: record.seq,
                    restart_from: record.restart_from,
                })
                .collect())
        }))
    }

    /// For a restart record up to `to`: how many of `origin`'s seqs after the last one seen it
    /// covers, now passed. Only forward, and only for an origin already followed: a restart record
    /// re-announced, or read before any entry of its instance, says nothing.
    fn restarted(&mut self, origin: &str, to: u64) -> u64 {
        match self.last_seq.get_mut(origin) {
            Some(last) if to > *last => {
                let missed = to - *last;
                *last = to;
                missed
            }
            _ => 0,
        }
    }

    /// How many seqs of `origin` were skipped before `seq` since the last one seen (0 for none);
    /// `None` when `seq` is not after it: a repeat of an entry passed on already.
    fn hole(&mut self, origin: &str, seq: u64) -> Option<u64> {
        // Looked up by reference: a key is built only for an instance not seen yet.
        if let Some(last) = self.last_seq.get_mut(origin) {
            if seq <= *last {
                return None;
            }
            let missed = seq - (*last + 1);
            *last = seq;
            return Some(missed);
        }
        if self.last_seq.len() >= TRACKED {
            // Instances come and go; forgetting costs at most one undetected hole each.
            self.last_seq.clear();
        }
        self.last_seq.insert(origin.to_owned(), seq);
        Some(0)
    }
}

/// The id just before `id`: a cursor that makes the record `id` the next one read.
fn before_id(id: &str) -> String {
    match parse_id(id) {
        Some((ms, 0)) if ms > 0 => format!("{}-{}", ms - 1, u64::MAX),
        Some((ms, seq)) if seq > 0 => format!("{ms}-{}", seq - 1),
        _ => "0-0".to_owned(),
    }
}

fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// Orders stream ids numerically (`10-0` after `9-5`).
fn compare_ids(a: &str, b: &str) -> std::cmp::Ordering {
    parse_id(a).cmp(&parse_id(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publisher_s_seqs_tell_holes_and_repeats() {
        let mut reader = Reader {
            client: redis::Client::open("redis://127.0.0.1:1").unwrap(),
            stream: "vg:logs".into(),
            timeout: Duration::from_secs(1),
            last_seq: HashMap::new(),
        };
        assert_eq!(reader.hole("web-1 k3x9", 5), Some(0), "the first seen");
        assert_eq!(reader.hole("web-1 k3x9", 6), Some(0));
        assert_eq!(
            reader.hole("web-1 k3x9", 10),
            Some(3),
            "7, 8 and 9 never came"
        );
        assert_eq!(reader.hole("web-1 k3x9", 10), None, "in Redis twice");
        assert_eq!(reader.hole("web-1 k3x9", 8), None);
        assert_eq!(reader.hole("web-2 p0q1", 1), Some(0), "another publisher");
        assert_eq!(reader.hole("web-1 k3x9", 11), Some(0));
    }

    #[test]
    fn ids_order_numerically_and_step_back_by_one() {
        assert!(compare_ids("10-0", "9-5").is_gt());
        assert!(compare_ids("5-1", "5-1").is_eq());
        assert_eq!(before_id("10-0"), format!("9-{}", u64::MAX));
        assert_eq!(before_id("10-3"), "10-2");
        assert_eq!(before_id("0-0"), "0-0");
    }
}
