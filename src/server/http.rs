//! The HTTP face of the server: the router, auth, the viewer stream, the history query, ingest
//! (vg's own, OTLP and Loki) and the web dashboard.

mod alerts;
mod auth;
mod auth_limit;
mod body;
mod config;
mod counters;
mod frames;
mod gateway;
mod ingest;
mod listen;
mod loki;
mod metrics;
mod otlp;
mod query;
mod ratelimit;
mod state;
mod stats;
mod stream;
mod tls;
mod web;

pub use config::GatewayConfig;
pub use gateway::{Gateway, serve};
pub use ratelimit::{Rate, RateLimits};
pub use tls::{Tls, TlsError};
