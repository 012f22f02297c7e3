//! Hooks for `benches/tui.rs`. A bench is a separate crate and reaches only public items, so this
//! module exposes just enough to build a full buffer and time what a user waits for. It is hidden from
//! the docs and is not part of vg's API.

use std::time::Instant;

use chrono::{TimeZone, Utc};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{App, Start};
use crate::cli::{Cli, Command};
use crate::model::{Level, LogEntry};
use crate::client::SourceEvent;

/// A viewer with a full buffer, drawing on an in-memory terminal.
pub struct Fixture {
    app: App,
    terminal: Terminal<TestBackend>,
}

const MESSAGES: &[&str] = &[
    "GET /api/users 200 12ms",
    "POST /api/orders 201 48ms",
    "cache miss for key user:42, loading from the database",
    "connection pool exhausted, waiting for a free connection",
    "timeout talking to payments after 5000ms",
    "job sync-invoices finished in 2.3s",
    "user u_42 logged in from 203.0.113.7",
];

/// `n` varied entries, as a real stream would send them, starting with the `start`th.
pub fn entries(start: usize, n: usize) -> Vec<LogEntry> {
    let t0 = Utc.with_ymd_and_hms(2026, 2, 5, 18, 0, 0).unwrap();
    let sources = ["api", "worker", "db", "auth", "cron"];
    (start..start + n)
        .map(|i| {
            let level = Level::ALL[[2, 2, 2, 1, 3, 2, 0, 4][i % 8]];
            let mut e = LogEntry::new(level, sources[i % 5], MESSAGES[i % MESSAGES.len()]);
            e.timestamp = t0 + chrono::Duration::milliseconds(i as i64);
            e.instance = Some(format!("{:04x}", i % 7));
            e.region = Some(["ord", "ams", "fra"][i % 3].into());
            e.meta.insert("requestId", format!("req_{}", i / 3));
            e.meta.insert("status", [200, 201, 404, 500][i % 4]);
            e.seq = Some(i as u64);
            e
        })
        .collect()
}

impl Fixture {
    /// A viewer of `width` x `height` holding `buffered` entries, following.
    pub fn new(buffered: usize, width: u16, height: u16) -> Fixture {
        let buffer = buffered.max(1).to_string();
        let cli = <Cli as clap::Parser>::try_parse_from(["vg", "tui", "--buffer", &buffer])
            .expect("valid flags");
        let Command::Tui(args) = cli.command else {
            unreachable!("parsed a tui command")
        };
        let start = Start::from_args(&args, Utc::now()).expect("valid flags");
        let now = Instant::now();
        let mut app = App::new(start, "bench", (width, height), now, Utc::now());
        app.on_source(SourceEvent::Live, now);
        // Made a chunk at a time, so the only large allocation is the viewer's own buffer.
        for start in (0..buffered).step_by(4096) {
            let batch = entries(start, 4096.min(buffered - start));
            app.on_source(SourceEvent::Entries(batch), now);
        }
        let terminal = Terminal::new(TestBackend::new(width, height)).expect("in memory");
        Fixture { app, terminal }
    }

    /// Draws one frame.
    pub fn draw(&mut self) {
        let app = &self.app;
        self.terminal
            .draw(|frame| super::ui::render(app, frame))
            .expect("in memory");
    }

    /// Presses a key, as the user would: `1`..`6` toggle levels, `/` starts a search, and so on;
    /// then does what the loop does before the next frame.
    pub fn press(&mut self, key: char) {
        self.key(KeyCode::Char(key));
    }

    /// Presses Enter.
    pub fn enter(&mut self) {
        self.key(KeyCode::Enter);
    }

    /// Presses Esc.
    pub fn escape(&mut self) {
        self.key(KeyCode::Esc);
    }

    fn key(&mut self, code: KeyCode) {
        self.app
            .handle_event(&Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        self.app.settle();
    }

    /// Delivers entries from the source.
    pub fn receive(&mut self, entries: Vec<LogEntry>) {
        let now = self.app.now;
        self.app.on_source(SourceEvent::Entries(entries), now);
    }
}
