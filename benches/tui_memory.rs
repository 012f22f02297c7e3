//! Memory per buffered entry in `vg tui`: the resident-set growth of filling a 1,000,000-entry
//! viewer, divided by the entries, against the size of the same entries as JSON. Linux only (reads
//! `/proc/self/statm`); allocator overhead is counted, as the user pays for it.

use vg::tui::bench::{Fixture, entries};

const BUFFERED: usize = 1_000_000;

fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn main() {
    let json: usize = (0..BUFFERED / 4096 + 1)
        .map(|chunk| {
            entries(chunk * 4096, 4096)
                .iter()
                .map(|e| e.to_json().len())
                .sum::<usize>()
        })
        .sum::<usize>()
        * BUFFERED
        / ((BUFFERED / 4096 + 1) * 4096);
    let Some(before) = rss_bytes() else {
        println!("tui_memory: /proc/self/statm not available; skipped");
        return;
    };
    let fixture = Fixture::new(BUFFERED, 160, 50);
    let after = rss_bytes().unwrap_or(before);
    let per_entry = after.saturating_sub(before) as f64 / BUFFERED as f64;
    let json_per_entry = json as f64 / BUFFERED as f64;
    println!(
        "tui_memory entries={BUFFERED} per_entry={per_entry:.0}B json_per_entry={json_per_entry:.0}B ratio={:.2} (limit 2.00)",
        per_entry / json_per_entry
    );
    drop(fixture);
}
