//! The HTTP face of the server: the router, auth, the viewer stream, the history query, ingest
//! (vg's own, OTLP and Loki) and the web dashboard.

mod auth;
mod auth_limit;
mod body;
mod config;
mod frames;
mod gateway;
mod ingest;
mod listen;
mod loki;
mod otlp;
mod query;
mod state;
mod stream;
mod web;

pub use config::GatewayConfig;
pub use gateway::{Gateway, serve};
