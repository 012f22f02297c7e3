//! `emit()` as the app's thread sees it, with 0, 10 and 100 WebSocket viewers connected and draining
//! on the server's own runtime. Building the entry is outside the timed section. Viewers that cannot
//! keep up with this tight loop lag (and are told so); `emit()` must not slow down because of them.
//! Per-call percentiles at a realistic rate come from `benches/e2e.rs`.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use vg::server::{Emitter, EmitterConfig};

#[path = "support/entries.rs"]
mod entries;
#[path = "support/live.rs"]
#[allow(dead_code, reason = "shared with e2e, which uses all of it")]
mod live;

fn emitter(c: &mut Criterion) {
    let mut group = c.benchmark_group("emit");
    for viewers in [0, 10, 100] {
        let emitter = Emitter::new(EmitterConfig::default().read_env(false).instance("bench"));
        let server = live::Server::start(emitter.clone());
        let _seen = live::viewers(&server, viewers);
        let mut i = 0;
        group.bench_function(format!("{viewers}_viewers"), |b| {
            b.iter_batched(
                || {
                    i += 1;
                    entries::entry(i)
                },
                |entry| emitter.emit(entry),
                BatchSize::SmallInput,
            )
        });
        drop(server);
    }
    group.finish();
}

criterion_group!(benches, emitter);
criterion_main!(benches);
