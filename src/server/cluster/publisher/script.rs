//! One batch as one command: a Lua script that adds every entry of the batch to the stream and
//! records the batch's newest seq, run by Redis in one go.
//!
//! It replaces a `MULTI`/`EXEC` of one `XADD` per entry, which was all-or-nothing too but cost
//! two replies per entry (`QUEUED`, then the id in `EXEC`'s array) for the client to parse and
//! thirteen arguments per entry to build and send. Here the stream, `MAXLEN`, boot and instance
//! are sent once per batch, each entry is two arguments (its seq and its JSON, serialized
//! straight into the command's buffer) and the reply is one number. The stream is trimmed once
//! per batch (`XTRIM MAXLEN ~`, the same approximate bound) rather than checked by every `XADD`:
//! with that, Redis spends about what a plain pipeline of `XADD`s costs it, less than
//! `MULTI`/`EXEC` (docs/benchmarks.md). A plain pipeline is not all-or-nothing: a connection
//! lost halfway would leave part of a batch in the stream without its dedupe record, and the
//! retry would add that part twice.
//!
//! A script is atomic as `EXEC` is: nothing else runs in between, and once it has written, Redis
//! lets it finish (an out-of-memory refusal comes before the first write, so it adds nothing).

use redis::{Cmd, RedisWrite, ToRedisArgs};

use crate::model::LogEntry;

/// The dedupe record is written right after the entries, before the trim: a script is not rolled
/// back, so a call failing after the entries must not leave them without it (a retry would add
/// them again).
///
/// An age limit is measured on Redis's clock (`TIME`), which also stamps the stream's ids, so the
/// instances' clocks do not matter.
///
/// `KEYS`: the stream, the dedupe key. `ARGV`: `MAXLEN`, boot, instance, the batch's newest seq,
/// the dedupe key's time to live in seconds, the age limit in milliseconds (0: none), then each
/// entry's seq and JSON. Returns how many entries it added.
const SOURCE: &str = r"
local stream, max_len, boot, instance = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local added = 0
for i = 7, #ARGV, 2 do
  redis.call('XADD', stream, '*', 'b', boot, 'i', instance, 's', ARGV[i], 'e', ARGV[i + 1])
  added = added + 1
end
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5])
redis.call('XTRIM', stream, 'MAXLEN', '~', max_len)
local max_age = tonumber(ARGV[6])
if max_age > 0 then
  local now = redis.call('TIME')
  local oldest = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - max_age
  if oldest > 0 then
    redis.call('XTRIM', stream, 'MINID', '~', string.format('%d', oldest))
  end
end
return added
";

/// The script, and its hash to call it by.
pub(super) fn script() -> redis::Script {
    redis::Script::new(SOURCE)
}

/// What one batch's command names besides its entries.
pub(super) struct Target<'a> {
    pub(super) stream: &'a str,
    pub(super) dedupe_key: &'a str,
    pub(super) max_len: usize,
    /// 0: no age limit.
    pub(super) max_age_ms: u64,
    pub(super) boot: &'a str,
    pub(super) instance: &'a str,
    pub(super) ttl_secs: u64,
}

/// Writes into `cmd` (cleared first, so its buffer is reused batch after batch) the `EVALSHA` of
/// the script with `hash` that adds `batch` to the stream and records `newest` as published.
pub(super) fn command(
    cmd: &mut Cmd,
    hash: &str,
    target: &Target<'_>,
    batch: &[std::sync::Arc<LogEntry>],
    newest: u64,
) {
    cmd.clear();
    cmd.arg("EVALSHA")
        .arg(hash)
        .arg(2)
        .arg(target.stream)
        .arg(target.dedupe_key)
        .arg(target.max_len)
        .arg(target.boot)
        .arg(target.instance)
        .arg(newest)
        .arg(target.ttl_secs)
        .arg(target.max_age_ms);
    for entry in batch {
        cmd.arg(entry.seq.unwrap_or(0)).arg(Json(entry));
    }
}

/// An entry as a command argument: its JSON written straight into the command's buffer, with no
/// string of its own in between.
struct Json<'a>(&'a LogEntry);

impl ToRedisArgs for Json<'_> {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + RedisWrite,
    {
        // Writing into memory cannot fail, and a LogEntry always serializes.
        let _ = serde_json::to_writer(out.writer_for_next_arg(), self.0);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::Level;

    #[test]
    fn each_entry_is_its_seq_and_exactly_its_json() {
        let mut first = LogEntry::new(Level::Warn, "api", "slow \"query\"\nline two");
        first.seq = Some(41);
        first.meta.insert("duration", 912);
        let mut second = LogEntry::new(Level::Info, "db", "ok");
        second.seq = Some(42);
        let batch = [Arc::new(first), Arc::new(second)];
        let target = Target {
            stream: "vg:logs",
            dedupe_key: "vg:logs:published:web-1:boot",
            max_len: 1000,
            max_age_ms: 3_600_000,
            boot: "boot",
            instance: "web-1",
            ttl_secs: 60,
        };
        let mut cmd = Cmd::new();
        // Twice into one command: the second replaces the first.
        command(&mut cmd, "hash", &target, &batch[..1], 41);
        command(&mut cmd, "hash", &target, &batch, 42);
        let args: Vec<Vec<u8>> = cmd
            .args_iter()
            .map(|arg| match arg {
                redis::Arg::Simple(bytes) => bytes.to_vec(),
                _ => panic!("every argument is a plain one"),
            })
            .collect();
        let mut expected: Vec<Vec<u8>> = [
            "EVALSHA",
            "hash",
            "2",
            "vg:logs",
            "vg:logs:published:web-1:boot",
            "1000",
            "boot",
            "web-1",
            "42",
            "60",
            "3600000",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        for entry in &batch {
            expected.push(entry.seq.unwrap().to_string().into_bytes());
            expected.push(entry.to_json().into_bytes());
        }
        assert_eq!(args, expected);
    }
}
