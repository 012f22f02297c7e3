//! Heap allocations per request added by the request-logging layer: a figure that, unlike time on a
//! shared machine, does not move between runs. The same hello-world router as
//! `benches/request_layer.rs`, called in-process with and without the layer, counted by DHAT's
//! allocator. A full history first, so each logged request also evicts (frees) an old entry.
//!
//! ```sh
//! cargo bench --features server --bench request_allocs
//! ```

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::Request;
use tower::ServiceExt;
use vg::server::{Emitter, EmitterConfig, RequestLogLayer};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const CALLS: u64 = 1_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let emitter = Emitter::new(EmitterConfig::default().read_env(false));
    let plain = Router::new().route("/api/users/{id}", get(|| async { "hello\n" }));
    let logged = plain
        .clone()
        .layer(RequestLogLayer::new(emitter.clone()).source("api"));
    let call = |router: &Router| runtime.block_on(router.clone().oneshot(request())).unwrap();
    for _ in 0..20_000 {
        call(&logged);
    }
    let _profiler = dhat::Profiler::builder().testing().build();
    let per_request = |router: &Router| {
        let before = dhat::HeapStats::get().total_blocks;
        for _ in 0..CALLS {
            call(router);
        }
        (dhat::HeapStats::get().total_blocks - before) as f64 / CALLS as f64
    };
    let (plain, logged) = (per_request(&plain), per_request(&logged));
    println!(
        "allocations per request: plain {plain:.1}, with the layer {logged:.1} (+{:.1})",
        logged - plain
    );
}

fn request() -> Request<Body> {
    Request::get("/api/users/42?page=2")
        .body(Body::empty())
        .expect("request")
}
