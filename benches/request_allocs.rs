//! Heap allocations per request added by the request-logging layer: a figure that, unlike time on a
//! shared machine, does not move between runs. The same hello-world router as
//! `benches/request_layer.rs`, called in-process with and without the layer, counted by DHAT's
//! allocator. The history is full first, so each logged request also evicts (frees) an old entry.
//!
//! ```sh
//! cargo bench --features server --bench request_allocs
//! ```

use axum::Router;

#[path = "support/hello.rs"]
mod hello;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const CALLS: u64 = 1_000;

fn main() {
    let hello = hello::Hello::new();
    let _profiler = dhat::Profiler::builder().testing().build();
    let per_request = |router: &Router| {
        let before = dhat::HeapStats::get().total_blocks;
        for _ in 0..CALLS {
            hello.call(router);
        }
        (dhat::HeapStats::get().total_blocks - before) as f64 / CALLS as f64
    };
    let (plain, logged) = (per_request(&hello.plain), per_request(&hello.logged));
    println!(
        "allocations per request: plain {plain:.1}, with the layer {logged:.1} (+{:.1})",
        logged - plain
    );
}
