//! The request-logging layer's own cost per request, without the network: the same hello-world axum
//! router called in-process with and without `RequestLogLayer`. The difference is what the layer
//! adds to every request (id, headers, the entry, `emit()`, evicting an old entry from a full
//! history). The wrk figure in `benches/run.sh` shows the same cost against a real server's.

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "support/hello.rs"]
mod hello;

fn request_layer(c: &mut Criterion) {
    let hello = hello::Hello::new();
    let mut group = c.benchmark_group("request");
    for (name, router) in [("plain", &hello.plain), ("with_layer", &hello.logged)] {
        group.bench_function(name, |b| b.iter(|| hello.call(router)));
    }
    group.finish();
}

criterion_group!(benches, request_layer);
criterion_main!(benches);
