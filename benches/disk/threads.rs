//! Where the CPU of an ingest round went, thread by thread (the producer, the relay, the history
//! writer, the sealer...): on a 2-core machine the threads compete, so a rate alone does not say
//! which of them bounds it. Read from `/proc/self/task/*/stat` (user plus system time, in clock
//! ticks of 10 ms), so only rounds of a second or more say much.

use std::collections::BTreeMap;

/// CPU seconds so far of each live thread of this process, by thread id, with its name.
pub fn cpu_by_thread() -> BTreeMap<u64, (String, f64)> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let Some(secs) = std::fs::read_to_string(path.join("stat"))
            .ok()
            .and_then(|stat| cpu_secs(&stat))
        else {
            continue;
        };
        out.insert(tid, (name.trim().to_owned(), secs));
    }
    out
}

/// CPU seconds so far of the calling thread: what an `emit()` loop costs the app's thread itself,
/// whatever the other threads' competition for the cores adds to its wall time.
pub fn this_thread_cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|stat| cpu_secs(&stat))
        .unwrap_or(0.0)
}

/// utime + stime of a `stat` line, in seconds (the name in parentheses may hold spaces).
fn cpu_secs(stat: &str) -> Option<f64> {
    let after_name = &stat[stat.rfind(')')? + 2..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / CLOCK_TICKS)
}

/// Clock ticks a second (`getconf CLK_TCK`): 100 on every Linux the bench runs on.
const CLOCK_TICKS: f64 = 100.0;

/// CPU seconds each thread name used between two readings (threads started in between count from
/// zero), largest first.
pub fn used_between(
    before: &BTreeMap<u64, (String, f64)>,
    after: &BTreeMap<u64, (String, f64)>,
) -> Vec<(String, f64)> {
    let mut by_name: BTreeMap<String, f64> = BTreeMap::new();
    for (tid, (name, secs)) in after {
        let earlier = before.get(tid).map_or(0.0, |(_, s)| *s);
        *by_name.entry(name.clone()).or_default() += secs - earlier;
    }
    let mut out: Vec<_> = by_name.into_iter().filter(|(_, s)| *s > 0.0).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}
