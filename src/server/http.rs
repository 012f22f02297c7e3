//! The HTTP face of the server: the router, auth, the viewer stream, the history query and ingest.

mod auth;
mod config;
mod frames;
mod gateway;
mod ingest;
mod query;
mod state;
mod stream;

pub use config::GatewayConfig;
pub use gateway::{Gateway, serve};
