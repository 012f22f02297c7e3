//! The HTTP face of the server: the router, auth, the viewer stream, the history query and ingest
//! (vg's own, OTLP and Loki).

mod auth;
mod body;
mod config;
mod frames;
mod gateway;
mod ingest;
mod loki;
mod otlp;
mod query;
mod state;
mod stream;

pub use config::GatewayConfig;
pub use gateway::{Gateway, serve};
