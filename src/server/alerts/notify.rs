//! Sending notifications to webhooks, off the stream's path: the engine hands each notification to
//! a bounded queue and goes on; a thread of its own sends them with a timeout and retries with
//! backoff, one queue per notifier so a dead endpoint delays no other. What cannot be queued is
//! dropped and counted; every notifier's health (sent, failed, retried, dropped, last error) is in
//! [`NotifierHealth`], which `GET /api/alerts` shows. A notification given up on is also a
//! `tracing` warning for the app's own log output; it runs on a thread marked as vg's, so the
//! tracing bridge never turns it into an entry the rules would see.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;

use super::notification::Notification;
use super::rules::NotifierSpec;
use crate::server::context::mark_thread_as_vg;

/// Notifications waiting for the sending thread.
const QUEUE: usize = 1024;
/// Notifications waiting for one notifier: as many as the sending thread holds, because a burst
/// fires every rule (and group) at once: 64 dropped 35 of the 100 first firings of 50 rules in the
/// alerts benchmark. A notification is small (its entries are shared), so this stays bounded.
const PER_NOTIFIER: usize = QUEUE;
/// The longest wait between two attempts.
const BACKOFF_CAP: Duration = Duration::from_secs(60);

/// How webhooks are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delivery {
    pub(crate) timeout: Duration,
    pub(crate) attempts: u32,
    pub(crate) backoff: Duration,
}

/// One notifier's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NotifierHealth {
    /// Its name.
    pub name: String,
    /// `ok`, or `failing` when its last notification could not be delivered.
    pub state: &'static str,
    /// Notifications delivered.
    pub sent: u64,
    /// Notifications given up on after every attempt failed.
    pub failed: u64,
    /// Attempts that failed and were tried again.
    pub retries: u64,
    /// Notifications dropped because its queue was full.
    pub dropped: u64,
    /// The last failure, in one line.
    pub last_error: Option<String>,
    /// When a notification was last delivered.
    pub last_sent: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
struct Health {
    sent: AtomicU64,
    failed: AtomicU64,
    retries: AtomicU64,
    dropped: AtomicU64,
    /// (last error, whether the latest notification failed, last delivery).
    last: Mutex<(Option<String>, bool, Option<DateTime<Utc>>)>,
}

/// Each notifier's name and figures, in the rules' order; replaced by a reload.
type HealthList = Arc<Mutex<Vec<(String, Arc<Health>)>>>;

/// A notification and the notifiers it goes to.
type Job = (Arc<Notification>, Vec<String>);

/// The handle the engine's side holds.
#[derive(Debug)]
pub(crate) struct Dispatcher {
    queue: mpsc::Sender<Job>,
    /// Notifier lists from reloads: rare and never to be lost, so not bounded by the queue.
    control: mpsc::UnboundedSender<Vec<NotifierSpec>>,
    health: HealthList,
    /// Notifications the sending thread had no room for.
    dropped: AtomicU64,
}

impl Dispatcher {
    /// Starts the sending thread for `notifiers`.
    pub(crate) fn start(
        notifiers: Vec<NotifierSpec>,
        delivery: Delivery,
    ) -> std::io::Result<Dispatcher> {
        let (queue, rx) = mpsc::channel(QUEUE);
        let (control, control_rx) = mpsc::unbounded_channel();
        let health = Arc::new(Mutex::new(Vec::new()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let client = reqwest::Client::builder()
            .timeout(delivery.timeout)
            .user_agent(concat!("vg/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(std::io::Error::other)?;
        let thread_health = Arc::clone(&health);
        std::thread::Builder::new()
            .name("vg-alerts-notify".into())
            .spawn(move || {
                // A webhook client that logs through tracing must not feed the rules.
                mark_thread_as_vg();
                runtime.block_on(run(rx, control_rx, client, delivery, thread_health));
            })?;
        let dispatcher = Dispatcher {
            queue,
            control,
            health,
            dropped: AtomicU64::new(0),
        };
        dispatcher.set_notifiers(notifiers);
        Ok(dispatcher)
    }

    /// Queues `notification` for the notifiers named; never waits.
    pub(crate) fn send(&self, notification: Notification, to: &[String]) {
        if to.is_empty() {
            return;
        }
        if self
            .queue
            .try_send((Arc::new(notification), to.to_vec()))
            .is_err()
        {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Replaces the notifiers (a reload); a notifier kept by name keeps its figures.
    pub(crate) fn set_notifiers(&self, notifiers: Vec<NotifierSpec>) {
        let _ = self.control.send(notifiers);
    }

    /// Each notifier's figures; notifications the sending thread had no room for count as dropped
    /// by every notifier.
    pub(crate) fn health(&self) -> Vec<NotifierHealth> {
        let extra = self.dropped.load(Ordering::Relaxed);
        lock(&self.health)
            .iter()
            .map(|(name, h)| {
                let last = lock(&h.last);
                NotifierHealth {
                    name: name.clone(),
                    state: if last.1 { "failing" } else { "ok" },
                    sent: h.sent.load(Ordering::Relaxed),
                    failed: h.failed.load(Ordering::Relaxed),
                    retries: h.retries.load(Ordering::Relaxed),
                    dropped: h.dropped.load(Ordering::Relaxed) + extra,
                    last_error: last.0.clone(),
                    last_sent: last.2,
                }
            })
            .collect()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Target {
    queue: mpsc::Sender<Arc<Notification>>,
    health: Arc<Health>,
}

/// The sending thread: routes notifications to each notifier's queue, whose task sends them one at
/// a time.
async fn run(
    mut rx: mpsc::Receiver<Job>,
    mut control: mpsc::UnboundedReceiver<Vec<NotifierSpec>>,
    client: reqwest::Client,
    delivery: Delivery,
    health: HealthList,
) {
    let mut targets: HashMap<String, Target> = HashMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        // A new notifier list first, so notifications queued after a reload go to the new one.
        let message = tokio::select! {
            biased;
            Some(specs) = control.recv() => Err(specs),
            job = rx.recv() => match job {
                Some(job) => Ok(job),
                None => break,
            },
        };
        match message {
            Ok((notification, to)) => {
                for name in to {
                    if let Some(target) = targets.get(&name)
                        && target.queue.try_send(Arc::clone(&notification)).is_err()
                    {
                        target.health.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Err(specs) => {
                let mut old = std::mem::take(&mut targets);
                let mut list = Vec::new();
                for spec in specs {
                    let kept = old.remove(&spec.name).map(|t| t.health);
                    let h = kept.unwrap_or_default();
                    let (queue, rx) = mpsc::channel(PER_NOTIFIER);
                    tasks.spawn(deliver(
                        rx,
                        client.clone(),
                        spec.clone(),
                        delivery,
                        Arc::clone(&h),
                    ));
                    list.push((spec.name.clone(), Arc::clone(&h)));
                    targets.insert(spec.name, Target { queue, health: h });
                }
                *lock(&health) = list;
                // Dropping the old queues lets their tasks finish what they hold, then end.
            }
        }
    }
    drop(targets);
    // The engine is gone: give what is queued a bounded time to go out.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
}

/// One notifier's task: each notification in turn, retried with doubling backoff.
async fn deliver(
    mut rx: mpsc::Receiver<Arc<Notification>>,
    client: reqwest::Client,
    spec: NotifierSpec,
    delivery: Delivery,
    health: Arc<Health>,
) {
    while let Some(notification) = rx.recv().await {
        let body = serde_json::to_vec(&notification.body(spec.format)).unwrap_or_default();
        let mut wait = delivery.backoff;
        for attempt in 1..=delivery.attempts.max(1) {
            let result = client
                .post(&spec.webhook)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            let error = match result {
                Ok(response) if response.status().is_success() => None,
                Ok(response) => Some(format!("{} answered {}", spec.webhook, response.status())),
                Err(e) => Some(one_line(&e)),
            };
            let Some(error) = error else {
                health.sent.fetch_add(1, Ordering::Relaxed);
                let mut last = lock(&health.last);
                last.1 = false;
                last.2 = Some(Utc::now());
                break;
            };
            let gave_up = attempt == delivery.attempts.max(1);
            if gave_up {
                tracing::warn!(
                    notifier = %spec.name,
                    rule = %notification.rule,
                    attempts = attempt,
                    "alert notification not delivered: {error}"
                );
            }
            {
                let mut last = lock(&health.last);
                last.0 = Some(error);
                last.1 |= gave_up;
            }
            if gave_up {
                health.failed.fetch_add(1, Ordering::Relaxed);
                break;
            }
            health.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(BACKOFF_CAP);
        }
    }
}

/// A reqwest error with its causes, on one line.
fn one_line(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.replace('\n', " ")
}
