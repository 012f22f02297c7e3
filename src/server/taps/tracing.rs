//! The `tracing` bridge: an app's existing `tracing` events become vg entries.
//!
//! Level maps one to one; the event's target becomes the source (or a fixed name); the event's fields
//! and those of the spans it is inside go into `meta` (innermost wins), with the names of those spans
//! as `span` (`boom`, or the path `request:db_query` from the outermost in); inside a request logged by
//! [`RequestLogLayer`](crate::server::RequestLogLayer) the request's `requestId` is attached.
//!
//! Field names follow one mapping, so `r`, `--where` and columns see one name whichever side wrote
//! it: Rust's `snake_case` field names become the `camelCase` vg's own fields use (`user_id` is
//! `userId`, `request_id` is `requestId`); a name that is not plain snake case (`http.method`,
//! `userId`, `_private`) is kept as written.
//!
//! Secrets: a field whose name is a secret (`password`, `token`, `otp`... and the app's own names
//! from [`Redaction`]) is recorded as `[REDACTED]`, a URL in a field value has its secret query
//! values redacted, and the app's field rules run last. This happens as the field is recorded, so
//! the value never reaches an entry, a viewer or the disk. Secret names are matched on the name as
//! the app wrote it, before the camelCase mapping.
//!
//! Feedback: a viewer's connection writes to a socket, and the libraries doing that may emit their
//! own `tracing` events; turning those into entries would make more writes, and so on. So events from
//! vg's own targets are skipped, and so is every event raised while vg's connection code is being
//! polled (`context::Quiet` marks that on the thread); other layers of the app still see them.

use chrono::Utc;
use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber, span};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::LookupSpan;

use super::redact::Redaction;
use crate::model::{Level, LogEntry, Meta};
use crate::server::context::inside_vg;
use crate::server::store::Emitter;

/// A `tracing_subscriber::Layer` that emits every event it sees as a vg entry.
///
/// ```no_run
/// use tracing_subscriber::prelude::*;
/// let emitter = vg::server::Emitter::default();
/// tracing_subscriber::registry()
///     .with(vg::server::TracingLayer::new(emitter.clone()))
///     .init();
/// ```
#[derive(Debug, Clone)]
pub struct TracingLayer {
    emitter: Emitter,
    source: Option<String>,
    redaction: Redaction,
}

impl TracingLayer {
    /// A bridge into this emitter; the source of each entry is the event's target.
    pub fn new(emitter: Emitter) -> TracingLayer {
        TracingLayer {
            emitter,
            source: None,
            redaction: Redaction::default(),
        }
    }

    /// Uses this fixed source name instead of the event's target (builder style).
    #[must_use]
    pub fn source(mut self, name: impl Into<String>) -> TracingLayer {
        self.source = Some(name.into());
        self
    }

    /// Also redacts the app's own secret field names and applies its field rules (builder style);
    /// vg's built-in secret names are always redacted.
    #[must_use]
    pub fn redaction(mut self, redaction: Redaction) -> TracingLayer {
        self.redaction = redaction;
        self
    }
}

/// A span's fields, kept in the span's extensions.
struct SpanFields(Meta);

impl<S> Layer<S> for TracingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = FieldVisitor::new(&self.redaction);
        attrs.record(&mut fields);
        span.extensions_mut().insert(SpanFields(fields.meta));
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(meta)) = extensions.get_mut::<SpanFields>() {
            let mut fields = FieldVisitor {
                meta: std::mem::take(meta),
                message: None,
                redaction: &self.redaction,
            };
            values.record(&mut fields);
            *meta = fields.meta;
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        let target = event.metadata().target();
        if inside_vg() || target == "vg" || target.starts_with("vg::") {
            return;
        }
        let mut fields = FieldVisitor::new(&self.redaction);
        let mut path = String::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if !path.is_empty() {
                    path.push(':');
                }
                path.push_str(span.name());
                if let Some(SpanFields(meta)) = span.extensions().get::<SpanFields>() {
                    fields.meta.extend(meta.clone());
                }
            }
        }
        if !path.is_empty() {
            fields.meta.insert("span", path);
        }
        event.record(&mut fields);
        let mut meta = fields.meta;
        // Events forwarded from the `log` crate carry their real target as a field.
        let log_target = match meta.remove("log.target") {
            Some(Value::String(t)) => Some(t),
            _ => None,
        };
        meta.retain(|k, _| !k.starts_with("log."));
        let source = match (&self.source, log_target) {
            (Some(fixed), _) => fixed.clone(),
            (None, Some(log_target)) => log_target,
            (None, None) => target.to_owned(),
        };
        self.emitter.emit(LogEntry {
            timestamp: Utc::now(),
            level: level_of(event.metadata().level()),
            source,
            message: fields.message.unwrap_or_default(),
            meta,
            instance: None,
            region: None,
            seq: None,
        });
    }
}

fn level_of(level: &tracing::Level) -> Level {
    match *level {
        tracing::Level::TRACE => Level::Trace,
        tracing::Level::DEBUG => Level::Debug,
        tracing::Level::INFO => Level::Info,
        tracing::Level::WARN => Level::Warn,
        tracing::Level::ERROR => Level::Error,
    }
}

/// Collects fields as JSON values, secrets redacted; `message` is kept apart.
struct FieldVisitor<'a> {
    meta: Meta,
    message: Option<String>,
    redaction: &'a Redaction,
}

impl<'a> FieldVisitor<'a> {
    fn new(redaction: &'a Redaction) -> FieldVisitor<'a> {
        FieldVisitor {
            meta: Meta::default(),
            message: None,
            redaction,
        }
    }

    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
        } else {
            let value = self.redaction.field(field.name(), value);
            self.meta.insert(field_name(field.name()), value);
        }
    }
}

/// The documented mapping: plain `snake_case` becomes `camelCase`; anything else is kept.
fn field_name(name: &str) -> std::borrow::Cow<'_, str> {
    let plain = name.contains('_')
        && !name.starts_with('_')
        && !name.ends_with('_')
        && !name.contains("__")
        && name
            .bytes()
            .all(|b| b == b'_' || b.is_ascii_lowercase() || b.is_ascii_digit());
    if !plain {
        return name.into();
    }
    let mut out = String::with_capacity(name.len());
    for (i, part) in name.split('_').enumerate() {
        let mut chars = part.chars();
        if let (true, Some(first)) = (i > 0, chars.next()) {
            out.push(first.to_ascii_uppercase());
            out.push_str(chars.as_str());
        } else {
            out.push_str(part);
        }
    }
    out.into()
}

impl Visit for FieldVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let json = serde_json::Number::from_f64(value)
            .map_or_else(|| Value::String(value.to_string()), Value::Number);
        self.put(field, json);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string().into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::EmitterConfig;
    use crate::server::context::Quiet;
    use std::task::Context;
    use tracing_subscriber::prelude::*;

    fn capture(source: Option<&str>, body: impl FnOnce()) -> Vec<LogEntry> {
        let emitter = Emitter::new(EmitterConfig::default().read_env(false));
        let mut layer = TracingLayer::new(emitter.clone());
        if let Some(source) = source {
            layer = layer.source(source);
        }
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, body);
        emitter.recent(100).iter().map(|e| (**e).clone()).collect()
    }

    #[test]
    fn events_become_entries_with_span_fields() {
        let entries = capture(None, || {
            let span = tracing::info_span!("job", job_id = 7, queue = "mail");
            let _enter = span.enter();
            tracing::warn!(target: "app::worker", attempt = 3, ok = false, ratio = 0.5, "retrying {}", "soon");
            span.record("queue", "bulk");
            tracing::error!(target: "app::worker", queue = "override", "gave up");
        });
        assert_eq!(entries.len(), 2);
        let first = &entries[0];
        assert_eq!(
            (first.level, first.source.as_str()),
            (Level::Warn, "app::worker")
        );
        assert_eq!(first.message, "retrying soon");
        assert_eq!(first.meta["span"], "job");
        assert_eq!(first.meta["jobId"], 7);
        assert_eq!(first.meta["queue"], "mail");
        assert_eq!(first.meta["attempt"], 3);
        assert_eq!(first.meta["ok"], false);
        assert_eq!(first.meta["ratio"], 0.5);
        assert_eq!(entries[1].level, Level::Error);
        assert_eq!(entries[1].meta["queue"], "override");
    }

    #[test]
    fn nested_spans_give_their_path_and_field_names_one_form() {
        let entries = capture(None, || {
            let outer = tracing::info_span!("request", request_id = "r1");
            let _outer = outer.enter();
            let inner = tracing::info_span!("db_query", table = "users");
            let _inner = inner.enter();
            tracing::info!(target: "app", user_id = 7, retry_after_ms = 5, userId = 8, _private = 1, "x");
        });
        let meta = &entries[0].meta;
        assert_eq!(meta["span"], "request:db_query");
        assert_eq!(meta["requestId"], "r1");
        assert_eq!(meta["table"], "users");
        assert_eq!(meta["retryAfterMs"], 5);
        // `user_id` and `userId` are one field: the later one wins.
        assert_eq!(meta["userId"], 8);
        assert!(meta.get("user_id").is_none());
        assert_eq!(meta["_private"], 1);
    }

    #[test]
    fn secret_fields_are_redacted() {
        let emitter = Emitter::new(EmitterConfig::default().read_env(false));
        let redaction =
            Redaction::default()
                .secret_name("customer_ref")
                .field_rule(|name, value| {
                    (name == "email")
                        .then(|| value.as_str().map_or(Value::Null, |_| "[email]".into()))
                });
        let layer = TracingLayer::new(emitter.clone()).redaction(redaction);
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let span =
                tracing::info_span!(target: "app", "login", session_id = "s-1", user = "ann");
            let _enter = span.enter();
            tracing::info!(
                target: "app",
                password = "hunter2",
                otp = 123_456,
                customer_ref = "c-9",
                email = "ann@example.com",
                callback = "https://app/cb?page=1&code=abc",
                attempt = 2,
                "signing in"
            );
        });
        let entry = emitter.recent(1)[0].clone();
        let meta = &entry.meta;
        for name in ["password", "otp", "customerRef", "sessionId"] {
            assert_eq!(meta[name], "[REDACTED]", "{name}");
        }
        assert_eq!(meta["email"], "[email]");
        assert_eq!(meta["callback"], "https://app/cb?page=1&code=[REDACTED]");
        assert_eq!(
            (meta["user"].clone(), meta["attempt"].clone()),
            ("ann".into(), 2.into())
        );
        assert_eq!(entry.message, "signing in");
    }

    #[test]
    fn fixed_source_and_own_events_skipped() {
        let entries = capture(Some("app"), || {
            tracing::info!(target: "vg::server::connection", "internal");
            tracing::info!(target: "something", "kept");
            let waker = std::task::Waker::noop();
            let mut quiet = std::pin::pin!(Quiet::new(async {
                tracing::info!(target: "hyper", "write");
            }));
            assert!(
                quiet
                    .as_mut()
                    .poll(&mut Context::from_waker(waker))
                    .is_ready()
            );
        });
        assert_eq!(entries.len(), 1);
        assert_eq!(
            (entries[0].source.as_str(), entries[0].message.as_str()),
            ("app", "kept")
        );
    }
}
