//! The request-logging layer's own cost per request, without the network: the same hello-world axum
//! router called in-process with and without [`RequestLogLayer`]. The difference is what the layer
//! adds to every request (id, headers, the entry, `emit()`, evicting an old entry from a full
//! history). The wrk figure in `benches/run.sh` shows the same cost against a real server's.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use tower::ServiceExt;
use vg::server::{Emitter, EmitterConfig, RequestLogLayer};

fn request_layer(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let emitter = Emitter::new(EmitterConfig::default().read_env(false));
    let plain = Router::new().route("/api/users/{id}", get(|| async { "hello\n" }));
    let logged = plain
        .clone()
        .layer(RequestLogLayer::new(emitter.clone()).source("api"));
    // A full history, as in a running app: every request also evicts (and frees) an old entry.
    let warm = |router: &Router| {
        for _ in 0..20_000 {
            runtime.block_on(router.clone().oneshot(request())).unwrap();
        }
    };
    warm(&logged);
    let mut group = c.benchmark_group("request");
    for (name, router) in [("plain", &plain), ("with_layer", &logged)] {
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(router.clone().oneshot(request())).unwrap())
        });
    }
    group.finish();
}

fn request() -> Request<Body> {
    Request::get("/api/users/42?page=2")
        .body(Body::empty())
        .expect("request")
}

criterion_group!(benches, request_layer);
criterion_main!(benches);
