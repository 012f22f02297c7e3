//! What `vg logs` does to each line it reads, against the floor of decoding the same line into a
//! generic `serde_json::Value`: decode into a `LogEntry`, then format it as a display line or as
//! NDJSON. Throughput is per line; compare each against `serde_json_value` from the same run.

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vg::format::{LineFormatter, TimeMode};
use vg::model::decode::LineDecoder;

#[path = "support/entries.rs"]
mod entries;

const LINES: u64 = 4096;

fn pipeline(c: &mut Criterion) {
    let lines: Vec<String> = (0..LINES).map(|i| entries::entry(i).to_json()).collect();
    let mut formatter = LineFormatter {
        time: TimeMode::Utc,
        ..LineFormatter::default()
    };
    let now = Utc::now();
    let mut group = c.benchmark_group("pipeline_per_line");
    group.throughput(Throughput::Elements(LINES));
    group.bench_function("serde_json_value", |b| {
        b.iter(|| {
            for line in &lines {
                std::hint::black_box(serde_json::from_str::<serde_json::Value>(line).unwrap());
            }
        })
    });
    group.bench_function("decode", |b| {
        let mut decoder = LineDecoder::default();
        b.iter(|| {
            for line in &lines {
                std::hint::black_box(decoder.decode(line.as_bytes(), "file"));
            }
        })
    });
    group.bench_function("decode_and_format_line", |b| {
        let mut decoder = LineDecoder::default();
        let mut out = String::with_capacity(512);
        b.iter(|| {
            for line in &lines {
                let entry = decoder.decode(line.as_bytes(), "file").unwrap();
                out.clear();
                formatter.write(&mut out, &entry, now);
                std::hint::black_box(&out);
            }
        })
    });
    group.bench_function("decode_and_write_json", |b| {
        let mut decoder = LineDecoder::default();
        let mut out = Vec::with_capacity(512);
        b.iter(|| {
            for line in &lines {
                let entry = decoder.decode(line.as_bytes(), "file").unwrap();
                out.clear();
                serde_json::to_writer(&mut out, &entry).unwrap();
                std::hint::black_box(&out);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
