//! Alert rules on a live emitter, notifying a real webhook receiver (a small axum server on
//! 127.0.0.1) with the engine's time set by hand: windows, cooldowns and silences of minutes take
//! no time, and no test sleeps for them.
#![cfg(feature = "server")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::mpsc;
use vg::LogEntry;
use vg::model::Level;
use vg::server::alerts::{
    Alerts, AlertsConfig, ManualClock, NotifierSpec, RuleSpec, Rules, WebhookFormat,
};
use vg::server::{Emitter, EmitterConfig};

const WAIT: Duration = Duration::from_secs(10);

/// What a receiver got, and how many requests it refuses first.
#[derive(Clone)]
struct Receiver {
    got: mpsc::UnboundedSender<Value>,
    fail_first: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

async fn hook(State(r): State<Receiver>, body: String) -> StatusCode {
    r.requests.fetch_add(1, Ordering::SeqCst);
    if r.fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let _ = r
        .got
        .send(serde_json::from_str(&body).expect("the body is JSON"));
    StatusCode::NO_CONTENT
}

struct Hook {
    url: String,
    got: mpsc::UnboundedReceiver<Value>,
    requests: Arc<AtomicUsize>,
}

impl Hook {
    /// A receiver on 127.0.0.1 answering 503 to its first `fail_first` requests.
    async fn start(fail_first: usize) -> Hook {
        let (tx, got) = mpsc::unbounded_channel();
        let requests = Arc::new(AtomicUsize::new(0));
        let state = Receiver {
            got: tx,
            fail_first: Arc::new(AtomicUsize::new(fail_first)),
            requests: Arc::clone(&requests),
        };
        let app = Router::new().route("/hook", post(hook)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Hook { url, got, requests }
    }

    async fn next(&mut self) -> Value {
        tokio::time::timeout(WAIT, self.got.recv())
            .await
            .expect("no notification arrived")
            .expect("receiver gone")
    }

    /// Nothing more arrives within a short grace period (the sender is asynchronous).
    async fn nothing_more(&mut self) {
        let more = tokio::time::timeout(Duration::from_millis(300), self.got.recv()).await;
        assert!(more.is_err(), "unexpected notification: {more:?}");
    }
}

fn start_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

struct Setup {
    emitter: Emitter,
    alerts: Alerts,
    clock: Arc<ManualClock>,
}

fn setup(rules: Vec<RuleSpec>, notifiers: Vec<NotifierSpec>) -> Setup {
    let emitter = Emitter::new(
        EmitterConfig::default()
            .read_env(false)
            .instance("i-1")
            .region("ord"),
    );
    let clock = Arc::new(ManualClock::new(start_time()));
    let config = AlertsConfig::default()
        .clock(clock.clone())
        // The test drives time itself; the ticker looks only rarely.
        .tick(Duration::from_secs(3600))
        .timeout(Duration::from_secs(5))
        .retry(3, Duration::from_millis(20));
    let rules = Rules::new(rules, notifiers).unwrap();
    let alerts = Alerts::start(&emitter, rules, config).unwrap();
    Setup {
        emitter,
        alerts,
        clock,
    }
}

impl Setup {
    /// Emits and waits until the alert sink has taken the entry.
    async fn emit(&self, level: Level, source: &str, message: &str, path: Option<&str>) {
        let mut entry = LogEntry::new(level, source, message);
        if let Some(path) = path {
            entry.meta.insert("path", path);
        }
        let seq = self.emitter.emit(entry);
        let deadline = tokio::time::Instant::now() + WAIT;
        while self
            .emitter
            .sink_stats()
            .iter()
            .any(|s| s.name == "alerts" && s.position < seq)
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the sink never took seq {seq}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
        self.alerts.tick();
    }
}

fn rule(name: &str, threshold: u64, notify: &str) -> RuleSpec {
    let mut rule = RuleSpec::new(
        name,
        vg::filter::FilterSpec {
            level: Some("error".into()),
            ..Default::default()
        },
    );
    rule.threshold = threshold;
    rule.window = Duration::from_secs(60);
    rule.cooldown = Duration::from_secs(600);
    rule.notify = vec![notify.into()];
    rule
}

#[tokio::test]
async fn threshold_then_cooldown_sends_one_notification_then_one_with_the_suppressed_count() {
    let mut hook = Hook::start(0).await;
    let s = setup(
        vec![rule("api errors", 3, "ops")],
        vec![NotifierSpec::new("ops", &hook.url)],
    );
    s.emit(Level::Error, "api", "first", None).await;
    s.emit(Level::Info, "api", "fine", None).await;
    s.emit(Level::Error, "api", "second", None).await;
    hook.nothing_more().await;
    s.emit(Level::Error, "api", "third", None).await;
    let n = hook.next().await;
    assert_eq!(n["rule"], "api errors");
    assert_eq!(n["state"], "firing");
    assert_eq!(n["count"], 3);
    assert_eq!(n["suppressed"], 0);
    assert_eq!(n["first"]["message"], "first");
    assert_eq!(n["last"]["message"], "third");
    assert_eq!(n["last"]["level"], "error");
    assert_eq!(n["instance"], "i-1");
    assert_eq!(n["region"], "ord");
    // 40 more inside the cooldown: nothing is sent, all are counted.
    for i in 0..40 {
        s.emit(Level::Error, "api", &format!("more {i}"), None)
            .await;
    }
    s.advance(30);
    hook.nothing_more().await;
    assert_eq!(s.alerts.status().rules[0].state, "firing");
    assert_eq!(s.alerts.status().rules[0].suppressed, 40);
    // Keep it firing (3 in every minute) to the end of the cooldown.
    for _ in 0..11 {
        for _ in 0..3 {
            s.emit(Level::Error, "api", "still", None).await;
        }
        s.advance(50);
    }
    hook.nothing_more().await;
    for _ in 0..3 {
        s.emit(Level::Error, "api", "still", None).await;
    }
    s.advance(50);
    let n = hook.next().await;
    assert_eq!(n["state"], "firing");
    assert_eq!(n["suppressed"], 40 + 36);
    assert_eq!(n["since"], "2027-01-15T08:00:00Z");
    // Quiet for a minute: resolved.
    s.advance(61);
    let n = hook.next().await;
    assert_eq!(n["state"], "resolved");
    assert_eq!(n["count"], 0);
    hook.nothing_more().await;
    let status = s.alerts.status();
    assert_eq!(status.rules[0].notifications, 3);
    assert_eq!(status.notifiers[0].sent, 3);
    assert_eq!(status.notifiers[0].state, "ok");
}

#[tokio::test]
async fn group_by_values_fire_separately() {
    let mut hook = Hook::start(0).await;
    let mut r = rule("by path", 2, "ops");
    r.group_by = Some("path".into());
    let s = setup(vec![r], vec![NotifierSpec::new("ops", &hook.url)]);
    s.emit(Level::Error, "api", "a1", Some("/a")).await;
    s.emit(Level::Error, "api", "b1", Some("/b")).await;
    hook.nothing_more().await;
    s.emit(Level::Error, "api", "a2", Some("/a")).await;
    let n = hook.next().await;
    assert_eq!(n["group"], "/a");
    s.emit(Level::Error, "api", "a3", Some("/a")).await;
    s.emit(Level::Error, "api", "b2", Some("/b")).await;
    let n = hook.next().await;
    assert_eq!(n["group"], "/b");
    assert_eq!(n["first"]["message"], "b1");
    hook.nothing_more().await;
}

#[tokio::test]
async fn absence_fires_after_the_silence_and_resolves_when_the_source_is_back() {
    let mut hook = Hook::start(0).await;
    let mut r = RuleSpec::new(
        "worker silent",
        vg::filter::FilterSpec {
            source: vec!["worker".into()],
            ..Default::default()
        },
    );
    r.absent_for = Some(Duration::from_secs(120));
    r.notify = vec!["ops".into()];
    let s = setup(vec![r], vec![NotifierSpec::new("ops", &hook.url)]);
    s.emit(Level::Info, "worker", "job done", None).await;
    s.advance(60);
    s.emit(Level::Info, "api", "other sources do not count", None)
        .await;
    s.advance(59);
    hook.nothing_more().await;
    s.advance(1);
    let n = hook.next().await;
    assert_eq!(n["state"], "firing");
    assert_eq!(n["absent_for_secs"], 120.0);
    assert_eq!(n["last"]["message"], "job done");
    assert_eq!(s.alerts.status().rules[0].state, "firing");
    s.advance(300);
    hook.nothing_more().await;
    s.emit(Level::Info, "worker", "back", None).await;
    let n = hook.next().await;
    assert_eq!(n["state"], "resolved");
    assert_eq!(n["last"]["message"], "back");
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_the_notification_on_the_third_try() {
    let mut hook = Hook::start(2).await;
    let s = setup(
        vec![rule("errors", 1, "ops")],
        vec![NotifierSpec::new("ops", &hook.url)],
    );
    s.emit(Level::Error, "api", "boom", None).await;
    let n = hook.next().await;
    assert_eq!(n["last"]["message"], "boom");
    assert_eq!(hook.requests.load(Ordering::SeqCst), 3);
    // The sender counts the delivery once the answer is back, just after the receiver saw it.
    let deadline = tokio::time::Instant::now() + WAIT;
    while s.alerts.status().notifiers[0].sent == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery never counted"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let health = &s.alerts.status().notifiers[0];
    assert_eq!((health.sent, health.retries, health.failed), (1, 2, 0));
    assert_eq!(health.state, "ok");
    assert!(
        health.last_error.as_deref().unwrap().contains("503"),
        "{health:?}"
    );
}

#[tokio::test]
async fn a_notifier_that_keeps_failing_shows_in_the_status_and_the_stream_goes_on() {
    let mut hook = Hook::start(usize::MAX).await;
    let s = setup(
        vec![rule("errors", 1, "ops")],
        vec![NotifierSpec::new("ops", &hook.url)],
    );
    s.emit(Level::Error, "api", "boom", None).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let health = s.alerts.status().notifiers[0].clone();
        if health.failed == 1 {
            assert_eq!(health.state, "failing");
            assert_eq!(health.retries, 2);
            assert_eq!(health.sent, 0);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never gave up: {health:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(hook.requests.load(Ordering::SeqCst), 3);
    // The stream still flows to the sink.
    s.emit(Level::Info, "api", "after", None).await;
    hook.nothing_more().await;
}

#[tokio::test]
async fn slack_and_discord_get_their_own_bodies() {
    let mut slack = Hook::start(0).await;
    let mut discord = Hook::start(0).await;
    let mut r = rule("errors", 1, "slack");
    r.notify.push("discord".into());
    let s = setup(
        vec![r],
        vec![
            NotifierSpec::new("slack", &slack.url).format(WebhookFormat::Slack),
            NotifierSpec::new("discord", &discord.url).format(WebhookFormat::Discord),
        ],
    );
    s.emit(Level::Error, "api", "db refused", None).await;
    let body = slack.next().await;
    let text = body["text"].as_str().expect("slack's text field");
    assert!(
        text.starts_with("[firing] errors: 1 in 1m (threshold 1)"),
        "{text}"
    );
    assert!(text.contains("error api: db refused"), "{text}");
    assert_eq!(body.as_object().unwrap().len(), 1);
    let body = discord.next().await;
    assert_eq!(body["content"].as_str(), Some(text));
    assert_eq!(body.as_object().unwrap().len(), 1);
}

#[tokio::test]
async fn a_reload_keeps_unchanged_rules_quiet_and_starts_new_ones() {
    let mut hook = Hook::start(0).await;
    let s = setup(
        vec![rule("errors", 1, "ops")],
        vec![NotifierSpec::new("ops", &hook.url)],
    );
    s.emit(Level::Error, "api", "boom", None).await;
    assert_eq!(hook.next().await["rule"], "errors");
    let mut fatal = rule("fatal", 1, "ops");
    fatal.filter.level = Some("fatal".into());
    let rules = Rules::new(
        vec![rule("errors", 1, "ops"), fatal],
        vec![NotifierSpec::new("ops", &hook.url)],
    )
    .unwrap();
    s.alerts.reload(rules);
    // "errors" is still in its cooldown: this is counted, not sent.
    s.emit(Level::Error, "api", "again", None).await;
    hook.nothing_more().await;
    s.emit(Level::Fatal, "api", "down", None).await;
    let n = hook.next().await;
    assert_eq!(n["rule"], "fatal");
    let status = s.alerts.status();
    assert_eq!(status.rules[0].suppressed, 2);
}
