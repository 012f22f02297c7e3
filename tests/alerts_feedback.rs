//! No feedback loop: what the alert engine logs about itself (here, a webhook it gave up on) never
//! becomes an entry its rules see, even with the app's `tracing` events bridged into vg and a rule
//! that matches every entry with no cooldown. Were it to leak, each warning would be an entry, each
//! entry another notification to the failing webhook, and so on without end.
//!
//! A test binary of its own: it installs a process-wide `tracing` subscriber, because the engine
//! logs on its own thread, which a thread-local default would not reach.
#![cfg(feature = "server")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::Context;
use tracing_subscriber::prelude::*;
use vg::filter::FilterSpec;
use vg::server::alerts::{Alerts, AlertsConfig, NotifierSpec, RuleSpec, Rules};
use vg::server::{Emitter, EmitterConfig, TracingLayer};

const WAIT: Duration = Duration::from_secs(10);
/// The receiver's thread: its HTTP server's own events are not the app's, so they stay out.
const RECEIVER: &str = "webhook-receiver";

/// Events vg's own code raised, whether or not they became entries.
static VG_EVENTS: AtomicUsize = AtomicUsize::new(0);

struct CountVgEvents;

impl<S: Subscriber> Layer<S> for CountVgEvents {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target().starts_with("vg::") {
            VG_EVENTS.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// A webhook on 127.0.0.1 that answers every request 503; stops when the sender is dropped.
fn failing_webhook() -> (String, Arc<AtomicUsize>, tokio::sync::oneshot::Sender<()>) {
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&requests);
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name(RECEIVER.into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let app = Router::new().route(
                    "/hook",
                    post(move || {
                        counter.fetch_add(1, Ordering::SeqCst);
                        async { StatusCode::SERVICE_UNAVAILABLE }
                    }),
                );
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                url_tx
                    .send(format!("http://{}/hook", listener.local_addr().unwrap()))
                    .unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        })
        .unwrap();
    (url_rx.recv_timeout(WAIT).unwrap(), requests, stop)
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn what_the_engine_logs_about_a_failing_webhook_is_never_matched() {
    let emitter = Emitter::new(EmitterConfig::default().read_env(false));
    let app_events = TracingLayer::new(emitter.clone()).with_filter(filter_fn(|_| {
        std::thread::current().name() != Some(RECEIVER)
    }));
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry()
            .with(app_events)
            .with(CountVgEvents),
    )
    .unwrap();
    let (url, requests, _stop) = failing_webhook();
    let mut everything = RuleSpec::new("everything", FilterSpec::default());
    everything.cooldown = Duration::ZERO;
    everything.notify = vec!["ops".into()];
    let rules = Rules::new(vec![everything], vec![NotifierSpec::new("ops", &url)]).unwrap();
    let config = AlertsConfig::default()
        .timeout(Duration::from_secs(5))
        .retry(3, Duration::from_millis(10));
    let alerts = Alerts::start(&emitter, rules, config).unwrap();

    // The app's own event is bridged, matched, and fires the rule.
    tracing::error!(target: "app::payments", "payment failed");
    let history = emitter.recent(10);
    assert_eq!(
        history.len(),
        1,
        "the bridge did not record the app's event"
    );
    let seq = history[0].seq.expect("stamped");
    wait_for("the notifier to give up", || {
        alerts
            .status()
            .notifiers
            .first()
            .is_some_and(|h| h.failed == 1)
    });
    assert!(
        VG_EVENTS.load(Ordering::SeqCst) >= 1,
        "the engine logged nothing about the failed webhook, so this test proves nothing"
    );
    // Give a leak the time to go round: entry, match, notification, failure, warning.
    std::thread::sleep(Duration::from_millis(500));
    let messages: Vec<String> = emitter
        .recent(10)
        .iter()
        .map(|e| e.message.clone())
        .collect();
    assert_eq!(
        messages,
        ["payment failed"],
        "the engine's own log became entries"
    );
    wait_for("the alert sink to take the app's entry", || {
        emitter
            .sink_stats()
            .iter()
            .any(|s| s.name == "alerts" && s.position >= seq)
    });
    let status = alerts.status();
    let rule = &status.rules[0];
    assert_eq!(
        (rule.matched, rule.notifications),
        (1, 1),
        "the rule saw more than the app's entry: {rule:?}"
    );
    // One notification, tried three times, and nothing sent since.
    assert_eq!(requests.load(Ordering::SeqCst), 3);
    emitter.close();
}
