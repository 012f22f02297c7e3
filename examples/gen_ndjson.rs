//! Writes benchmark data: `N` lines of NDJSON log entries (default 1,000,000) to stdout, the same
//! entries the benches use. `benches/run.sh` uses it so no large data file lives in the repository.
//!
//! ```sh
//! cargo run --release --example gen_ndjson -- 1000000 > /tmp/vg-bench.ndjson
//! ```

use std::io::Write;

#[path = "../benches/support/entries.rs"]
mod entries;

fn main() -> std::io::Result<()> {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(Ok(1_000_000), |a| a.parse())
        .unwrap_or(1_000_000);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    for i in 0..n {
        serde_json::to_writer(&mut out, &entries::entry(i))?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
