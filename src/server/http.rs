//! The HTTP face of the server: the router, auth, the viewer stream, the history query, ingest
//! (vg's own, OTLP and Loki) and the web dashboard.

mod alerts;
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
mod web;

pub use config::GatewayConfig;
pub use gateway::{Gateway, serve};
