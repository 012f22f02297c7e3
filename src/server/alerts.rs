//! Alert rules evaluated on the live stream, notifying webhooks (docs/alerts.md).
//!
//! - `rules` and `file`: rules built in code or read from a TOML file, validated with every problem
//!   named by line, item and key;
//! - `engine`: the rules' state over time, pure (time is passed in), so tests and `vg alerts test`
//!   drive it without a clock;
//! - `live`: the engine as a [`Sink`](crate::server::Sink) of a running server, with a ticker and
//!   the webhook sender (`notify`), none of which slows `emit()`;
//! - `notification`: what an alert says, and the json/slack/discord bodies.
//!
//! ```no_run
//! use vg::server::{Emitter, EmitterConfig};
//! use vg::server::alerts::{Alerts, AlertsConfig, Rules};
//! let emitter = Emitter::new(EmitterConfig::default());
//! let rules = Rules::from_file("rules.toml".as_ref()).expect("valid rules");
//! let alerts = Alerts::start(&emitter, rules, AlertsConfig::default()).expect("threads");
//! ```

mod clock;
mod engine;
mod file;
mod live;
mod notification;
mod notify;
mod replay;
mod rules;

pub use clock::{Clock, ManualClock, SystemClock};
pub use engine::RuleStatus;
pub use live::{Alerts, AlertsConfig, AlertsStatus};
pub use notification::{AlertState, Notification};
pub use notify::NotifierHealth;
pub use replay::replay;
pub use rules::{
    DEFAULT_COOLDOWN, DEFAULT_WINDOW, NotifierSpec, Problem, RuleSpec, Rules, RulesError,
    WebhookFormat,
};
