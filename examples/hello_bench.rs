//! A hello-world axum app for load tests, with or without vg's request-logging layer, so the cost of
//! the layer is the only difference. It listens on 127.0.0.1 and exits by itself.
//!
//! ```sh
//! cargo run --release --features server --example hello_bench -- PORT SECONDS [--layer]
//! wrk -t1 -c32 -d5s http://127.0.0.1:PORT/
//! ```

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use vg::server::{Emitter, EmitterConfig, RequestLogLayer};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port = args.get(1).map_or("3001", String::as_str);
    let seconds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let layer = args.iter().any(|a| a == "--layer");
    let mut app = Router::new().route("/", get(|| async { "hello\n" }));
    // Kept alive for the whole run: the layer's entries land in its history as in a real app.
    let emitter = Emitter::new(EmitterConfig::default().read_env(false));
    if layer {
        app = app.layer(RequestLogLayer::new(emitter.clone()).source("api"));
    }
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    axum::serve(listener, app)
        .with_graceful_shutdown(tokio::time::sleep(Duration::from_secs(seconds)))
        .await?;
    eprintln!(
        "hello_bench: {} entries logged",
        emitter.stats().newest_seq.unwrap_or(0)
    );
    Ok(())
}
