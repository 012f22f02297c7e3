//! The peer: the same entries into SQLite (the `bundled` library through `rusqlite`), set up the
//! way a careful app would keep logs in it: one row per entry with the seq as its key, the time in
//! an indexed integer column, meta as JSON text, WAL mode with `synchronous=NORMAL` (synced at
//! checkpoints: the nearest SQLite has to `--fsync interval`), and one transaction per 4,096 rows
//! (the writer's batch size) through a cached prepared statement.

use std::path::Path;
use std::time::Instant;

use rusqlite::{Connection, params};
use vg::LogEntry;

/// Rows per transaction: the disk writer's batch.
const BATCH: usize = 4096;

const COLUMNS: &str = "seq, ts, level, source, message, instance, region, meta";

fn open(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn
}

/// Inserts `batch` (seqs 1..) into a new database at `path`; returns entries/s and the bytes of the
/// database and its WAL.
pub fn ingest(path: &Path, batch: &[LogEntry]) -> (f64, u64) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let mut conn = open(path);
    conn.execute_batch(
        "CREATE TABLE logs (
            seq INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            level TEXT NOT NULL,
            source TEXT NOT NULL,
            message TEXT NOT NULL,
            instance TEXT,
            region TEXT,
            meta TEXT
        );
        CREATE INDEX logs_ts ON logs (ts);",
    )
    .unwrap();
    let start = Instant::now();
    let mut seq = 0i64;
    for chunk in batch.chunks(BATCH) {
        let tx = conn.transaction().unwrap();
        {
            let mut insert = tx
                .prepare_cached(&format!(
                    "INSERT INTO logs ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ))
                .unwrap();
            for entry in chunk {
                seq += 1;
                let meta =
                    (!entry.meta.is_empty()).then(|| serde_json::to_string(&entry.meta).unwrap());
                insert
                    .execute(params![
                        seq,
                        entry.timestamp.timestamp_micros(),
                        entry.level.as_str(),
                        entry.source,
                        entry.message,
                        entry.instance,
                        entry.region,
                        meta,
                    ])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let rate = batch.len() as f64 / start.elapsed().as_secs_f64();
    drop(conn);
    let bytes = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum();
    (rate, bytes)
}

/// A database written by [`ingest`], opened again for queries.
pub struct Reader {
    conn: Connection,
}

impl Reader {
    pub fn open(path: &Path) -> Reader {
        Reader { conn: open(path) }
    }

    /// The first entry at or after `since_micros`, decoded into a `LogEntry`.
    pub fn first_since(&self, since_micros: i64) -> Option<LogEntry> {
        let mut query = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM logs WHERE ts >= ?1 ORDER BY ts LIMIT 1"
            ))
            .unwrap();
        let mut rows = query.query([since_micros]).unwrap();
        rows.next().unwrap().map(row_entry)
    }

    /// The first `limit` entries at or after `since_micros`, decoded; returns how many.
    pub fn since_limit(&self, since_micros: i64, limit: i64) -> usize {
        let mut query = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM logs WHERE ts >= ?1 ORDER BY ts LIMIT ?2"
            ))
            .unwrap();
        let mut rows = query.query(params![since_micros, limit]).unwrap();
        let mut count = 0;
        while let Some(row) = rows.next().unwrap() {
            std::hint::black_box(row_entry(row));
            count += 1;
        }
        count
    }

    /// Every entry with `since <= ts < until`, decoded; returns how many.
    pub fn window(&self, since_micros: i64, until_micros: i64) -> usize {
        let mut query = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM logs WHERE ts >= ?1 AND ts < ?2 ORDER BY ts"
            ))
            .unwrap();
        let mut rows = query.query([since_micros, until_micros]).unwrap();
        let mut count = 0;
        while let Some(row) = rows.next().unwrap() {
            std::hint::black_box(row_entry(row));
            count += 1;
        }
        count
    }
}

/// A row back into the entry it was made from (what vg's reads return too).
fn row_entry(row: &rusqlite::Row<'_>) -> LogEntry {
    let level: String = row.get(2).unwrap();
    let mut entry = LogEntry::new(
        level.parse().unwrap(),
        row.get::<_, String>(3).unwrap(),
        row.get::<_, String>(4).unwrap(),
    );
    entry.seq = Some(row.get::<_, i64>(0).unwrap() as u64);
    entry.timestamp = chrono::DateTime::from_timestamp_micros(row.get(1).unwrap()).unwrap();
    entry.instance = row.get(5).unwrap();
    entry.region = row.get(6).unwrap();
    if let Some(meta) = row.get::<_, Option<String>>(7).unwrap() {
        entry.meta = serde_json::from_str(&meta).unwrap();
    }
    entry
}
