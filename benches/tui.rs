//! What a user of `vg tui` waits for, with a million entries buffered: a frame, a filter change, a
//! search keystroke, taking in a batch of arrivals, and the `r` request filter (last: it leaves the
//! view paused on the selected entry).

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use vg::tui::bench::{Fixture, entries};

const BUFFERED: usize = 1_000_000;

fn tui(c: &mut Criterion) {
    let mut group = c.benchmark_group("tui_1m");
    group.sample_size(20);
    let mut fixture = Fixture::new(BUFFERED, 160, 50);
    group.bench_function("frame_160x50", |b| b.iter(|| fixture.draw()));
    // Toggling info hides most rows and showing it again brings them back: two full passes.
    group.bench_function("level_toggle_off_and_on", |b| {
        b.iter(|| {
            fixture.press('3');
            fixture.press('3');
        })
    });
    // Above 200,000 rows a keystroke only recompiles the pattern; the count waits for Enter.
    group.bench_function("search_keystroke", |b| {
        fixture.press('/');
        b.iter(|| {
            fixture.press('x');
            fixture.press('y');
        });
        fixture.escape();
    });
    // Enter counts the matches (one pass with the regex); Esc clears (one pass without).
    group.bench_function("search_enter_then_esc", |b| {
        b.iter(|| {
            fixture.press('/');
            fixture.press('x');
            fixture.enter();
            fixture.escape();
        })
    });
    // The same with `m`: the pattern also tried against every meta value of every row.
    fixture.press('m');
    group.bench_function("search_fields_enter_then_esc", |b| {
        b.iter(|| {
            fixture.press('/');
            fixture.press('x');
            fixture.enter();
            fixture.escape();
        })
    });
    fixture.press('m');
    fixture.press('s');
    fixture.press(' ');
    fixture.press(' ');
    fixture.escape();
    group.bench_function("receive_4096", |b| {
        b.iter_batched(
            || entries(0, 4096),
            |batch| fixture.receive(batch),
            BatchSize::SmallInput,
        )
    });
    // `r` on the newest entry keeps only its request's rows, `r` again shows all: two passes that
    // look into each row's meta.
    group.bench_function("request_filter_on_and_off", |b| {
        b.iter(|| {
            fixture.press('r');
            fixture.press('r');
        })
    });
    group.finish();
}

criterion_group!(benches, tui);
criterion_main!(benches);
