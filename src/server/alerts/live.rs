//! Alert rules on a running server: the engine fed as a [`Sink`], a ticker thread that lets time
//! pass (a silence has no entry to announce it), and the notifiers. Neither ever runs on the app's
//! thread or slows `emit()`; both are marked as vg's own, so nothing they log is matched by a rule.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::broadcast;

use super::clock::{Clock, SystemClock};
use super::engine::{Engine, RuleStatus};
use super::notification::Notification;
use super::notify::{Delivery, Dispatcher, NotifierHealth};
use super::rules::{Problem, Rules, RulesError};
use crate::model::LogEntry;
use crate::server::context::mark_thread_as_vg;
use crate::server::{Emitter, Sink};

/// Notifications kept for viewers that read them late (the `alert` protocol message).
const RECENT: usize = 64;

/// How alert rules run: the clock, how often time is checked, how webhooks are sent.
#[derive(Clone)]
pub struct AlertsConfig {
    clock: Arc<dyn Clock>,
    tick: Duration,
    delivery: Delivery,
}

impl std::fmt::Debug for AlertsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertsConfig")
            .field("tick", &self.tick)
            .field("delivery", &self.delivery)
            .finish_non_exhaustive()
    }
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            clock: Arc::new(SystemClock),
            tick: Duration::from_secs(1),
            delivery: Delivery {
                timeout: Duration::from_secs(10),
                attempts: 5,
                backoff: Duration::from_secs(1),
            },
        }
    }
}

impl AlertsConfig {
    /// The clock windows, cooldowns and silences are judged by (a [`ManualClock`](super::ManualClock)
    /// in tests).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How often silences and the ends of windows and cooldowns are looked for (default 1 s).
    #[must_use]
    pub fn tick(mut self, every: Duration) -> Self {
        self.tick = every;
        self
    }

    /// Each webhook request's timeout (default 10 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.delivery.timeout = timeout;
        self
    }

    /// Attempts per notification (default 5), the first wait between two (default 1 s), doubled
    /// after each failure up to a minute.
    #[must_use]
    pub fn retry(mut self, attempts: u32, backoff: Duration) -> Self {
        self.delivery.attempts = attempts.max(1);
        self.delivery.backoff = backoff;
        self
    }
}

/// What `GET /api/alerts` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AlertsStatus {
    /// Each rule, in file order.
    pub rules: Vec<RuleStatus>,
    /// Each notifier's health.
    pub notifiers: Vec<NotifierHealth>,
}

struct Shared {
    engine: Mutex<Engine>,
    clock: Arc<dyn Clock>,
    dispatcher: Dispatcher,
    instance: Option<String>,
    region: Option<String>,
    alerts: broadcast::Sender<Arc<Notification>>,
    closed: AtomicBool,
    /// The file the rules came from, for [`Alerts::reload_file`].
    file: Mutex<Option<PathBuf>>,
}

impl Shared {
    fn engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends what the engine decided: to the notifiers and to viewers.
    fn dispatch(&self, engine: &Engine, out: Vec<Notification>) {
        for notification in out {
            let to = engine.notify_of(&notification.rule).to_vec();
            let _ = self.alerts.send(Arc::new(notification.clone()));
            self.dispatcher.send(notification, &to);
        }
    }

    fn tick(&self) {
        let mut out = Vec::new();
        let mut engine = self.engine();
        engine.tick(self.clock.now(), &mut out);
        self.dispatch(&engine, out);
    }
}

/// Alert rules running on an emitter's stream. Cloning gives another handle to the same rules.
#[derive(Clone)]
pub struct Alerts {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Alerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerts").finish_non_exhaustive()
    }
}

/// The sink's side: feeds every entry to the engine.
struct AlertSink(Arc<Shared>);

impl Sink for AlertSink {
    fn write(&mut self, entries: &[Arc<LogEntry>]) {
        let mut out = Vec::new();
        let mut engine = self.0.engine();
        // One time for the whole batch, as the engine's batch path wants: the cooldowns are judged
        // once per group and batch, not once per entry and rule.
        let now = self.0.clock.now();
        engine.observe_batch(entries, now, &mut out);
        self.0.dispatch(&engine, out);
    }

    fn close(&mut self) {
        self.0.closed.store(true, Ordering::Relaxed);
    }
}

impl Alerts {
    /// Starts `rules` on `emitter`'s entries from now on: a sink named `alerts`, a ticker thread
    /// and the webhook sender. They stop when the emitter closes.
    pub fn start(emitter: &Emitter, rules: Rules, config: AlertsConfig) -> std::io::Result<Alerts> {
        let instance = emitter.instance().map(str::to_owned);
        let region = emitter.region().map(str::to_owned);
        let engine = Engine::new(&rules, instance.clone(), region.clone(), config.clock.now());
        let dispatcher = Dispatcher::start(rules.notifiers.clone(), config.delivery)?;
        let shared = Arc::new(Shared {
            engine: Mutex::new(engine),
            clock: config.clock,
            dispatcher,
            instance,
            region,
            alerts: broadcast::channel(RECENT).0,
            closed: AtomicBool::new(false),
            file: Mutex::new(None),
        });
        let ticker = Arc::downgrade(&shared);
        let every = config.tick;
        std::thread::Builder::new()
            .name("vg-alerts-tick".into())
            .spawn(move || {
                mark_thread_as_vg();
                loop {
                    std::thread::sleep(every);
                    let Some(shared) = ticker.upgrade() else {
                        break;
                    };
                    if shared.closed.load(Ordering::Relaxed) {
                        break;
                    }
                    shared.tick();
                }
            })?;
        emitter.add_sink("alerts", AlertSink(Arc::clone(&shared)))?;
        Ok(Alerts { shared })
    }

    /// Starts the rules of the file at `path`, which [`Alerts::reload_file`] reads again. A file
    /// that cannot be read or has problems is an error naming each; nothing is started.
    pub fn start_file(
        emitter: &Emitter,
        path: &Path,
        config: AlertsConfig,
    ) -> Result<Alerts, RulesError> {
        let rules = Rules::from_file(path)?;
        let alerts = Alerts::start(emitter, rules, config).map_err(|e| RulesError {
            problems: vec![Problem {
                line: None,
                item: path.display().to_string(),
                key: None,
                message: format!("cannot start the alert threads: {e}"),
            }],
        })?;
        *alerts
            .shared
            .file
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(path.to_owned());
        Ok(alerts)
    }

    /// Reads the rules file again and runs what it holds (see [`Alerts::reload`]); returns how many
    /// rules now run. A file with problems changes nothing: the rules running go on.
    pub fn reload_file(&self) -> Result<usize, RulesError> {
        let path = self
            .shared
            .file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(path) = path else {
            return Err(RulesError {
                problems: vec![Problem {
                    line: None,
                    item: "these rules".into(),
                    key: None,
                    message: "they were built in code, not read from a file; call Alerts::reload"
                        .into(),
                }],
            });
        };
        let rules = Rules::from_file(&path)?;
        let count = rules.rules.len();
        self.reload(rules);
        Ok(count)
    }

    /// Replaces the rules and notifiers. Rules that are unchanged keep their state (windows,
    /// cooldowns, silences), so a reload does not notify again what was already told.
    pub fn reload(&self, rules: Rules) {
        let mut engine = self.shared.engine();
        let now = self.shared.clock.now();
        let fresh = Engine::new(
            &rules,
            self.shared.instance.clone(),
            self.shared.region.clone(),
            now,
        );
        let old = std::mem::replace(&mut *engine, fresh);
        engine.keep_state_from(old);
        self.shared.dispatcher.set_notifiers(rules.notifiers);
    }

    /// Looks at the time now: silences that began, windows that emptied, cooldowns that ended. The
    /// ticker does this every `tick`; a test with a [`ManualClock`](super::ManualClock) calls it
    /// after moving the clock.
    pub fn tick(&self) {
        self.shared.tick();
    }

    /// Each rule's state and each notifier's health.
    pub fn status(&self) -> AlertsStatus {
        AlertsStatus {
            rules: self.shared.engine().status(),
            notifiers: self.shared.dispatcher.health(),
        }
    }

    /// Every notification from now on, as it is decided (what viewers are sent).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Notification>> {
        self.shared.alerts.subscribe()
    }
}
