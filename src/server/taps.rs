//! What turns an app's activity into entries: the request-logging layer and the `tracing` bridge.

mod redact;
mod request;
mod tracing;

pub use self::tracing::TracingLayer;
pub use redact::Redaction;
pub use request::{REQUEST_ID_HEADER, RequestLog, RequestLogLayer, ResponseFuture};
