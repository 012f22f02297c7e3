//! The allocator `vg serve` runs on (mimalloc, when the `mimalloc` feature is on, a default one),
//! for the benches whose figures are `vg serve`'s: under glibc's malloc the threads that free what
//! another allocated (the relay, a sink's writer, the Redis reader's replies) cost the app's thread
//! its per-thread cache (docs/benchmarks.md, "The relay hop"). `--no-default-features --features
//! server` measures the system allocator instead.

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The allocator this build runs on, for the report.
pub const NAME: &str = if cfg!(feature = "mimalloc") {
    "mimalloc"
} else {
    "the system allocator"
};
