//! The viewer's state, and the only mutable part of the TUI.
//!
//! Keys, the mouse, the source and the clock all arrive here as calls that change the state and mark it
//! dirty; rendering reads it and never writes. Time is always passed in (`now`), so tests drive the
//! clock and every screen is reproducible. Anything the app wants done outside itself (quit, write to
//! the clipboard) comes back as an [`Effect`] for the loop to carry out.

mod actions;
mod alerts;
mod export;
mod fields;
mod filter;
mod names;
mod picker;
mod rate;
mod search;
pub(crate) mod servers;
mod start;
// Visible to `text`, which draws rows: it depends on the row types, not on `App`.
pub(crate) mod stored;
mod view;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use crossterm::event::Event;
use tui_input::InputRequest;

pub(crate) use fields::Fields;
pub(crate) use filter::{RequestFilter, Row, ViewFilter};
pub(crate) use names::{Dim, NameId, Names};
pub(crate) use picker::Picker;
pub(crate) use rate::Rate;
pub(crate) use search::Search;
pub(crate) use start::Start;
#[cfg(test)]
pub(crate) use stored::tests::stored as stored_alone;
pub(crate) use stored::{EntryRef, Scratch, Stored};
pub(crate) use view::View;

use crate::client::{ConnState, SourceEvent};
use crate::format::TimeMode;
use crate::model::{Level, LogEntry};
use crate::tui::buffer::{Buffer, Evicted, RowId};
use crate::tui::keymap::{self, Mode};
use crate::tui::{layout, text};

/// How long a one-line notice stays in the status bar.
const NOTICE_FOR: Duration = Duration::from_secs(6);

/// What the loop must do after an event.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    None,
    Quit,
    /// Put this text on the clipboard.
    Copy(String),
}

/// Counters for the header and status bar.
#[derive(Debug)]
pub(crate) struct Stats {
    /// Entries received since start.
    pub(crate) received: u64,
    /// Entries in the buffer, by level.
    pub(crate) levels: [u64; 6],
    pub(crate) gaps: u64,
    /// Entries reported missed.
    pub(crate) missed: u64,
    /// Some of `missed` is an upper bound: a restart gap counts the seqs a crashed start may have
    /// stamped, not entries known lost.
    pub(crate) missed_at_most: bool,
    pub(crate) rate: Rate,
}

/// A one-line message in the status bar.
#[derive(Debug)]
pub(crate) struct Notice {
    pub(crate) text: String,
    /// When it goes, if nothing replaces it first.
    pub(crate) until: Instant,
    /// It is about what the last action left on screen (an answer to a key, "no match", or rows
    /// dropped from under a held view), so the next action makes it stale and drops it. News from the
    /// source is not: it stays its full time, whatever keys are pressed.
    about_the_view: bool,
}

/// The entry the detail overlay shows: a copy, so eviction cannot pull it away.
#[derive(Debug)]
pub(crate) struct Detail {
    pub(crate) entry: LogEntry,
    pub(crate) scroll: usize,
    /// The width `body` was laid out for.
    width: usize,
    /// Every line after the time field (see [`text::detail::body`]).
    body: Vec<text::Line>,
}

impl Detail {
    pub(crate) fn new(entry: LogEntry, width: usize) -> Detail {
        let body = text::detail::body(&entry, width);
        Detail {
            entry,
            scroll: 0,
            width,
            body,
        }
    }

    /// Lays the body out again for a new width.
    fn set_width(&mut self, width: usize) {
        if width != self.width {
            self.body = text::detail::body(&self.entry, width);
            self.width = width;
        }
    }

    /// The lines at `width`: the time field as of `now`, then the body, laid out again only if the
    /// width is not the one it was kept for.
    pub(crate) fn lines(
        &self,
        now: DateTime<Utc>,
        width: usize,
    ) -> (Vec<text::Line>, std::borrow::Cow<'_, [text::Line]>) {
        let time = text::detail::time_lines(&self.entry, now, width);
        let body = if width == self.width {
            std::borrow::Cow::Borrowed(self.body.as_slice())
        } else {
            std::borrow::Cow::Owned(text::detail::body(&self.entry, width))
        };
        (time, body)
    }
}

/// The whole state.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) buffer: Buffer<Row>,
    /// Ids of the gap rows that may still be in the buffer, oldest first. Gap rows always show, so
    /// the entries shown are the shown rows less these.
    gap_rows: std::collections::VecDeque<RowId>,
    pub(crate) names: Names,
    pub(crate) filter: ViewFilter,
    pub(crate) fixed_labels: Vec<String>,
    pub(crate) search: Search,
    pub(crate) view: View,
    pub(crate) picker: Picker,
    /// Meta fields shown as columns (`v`).
    pub(crate) fields: Fields,
    pub(crate) detail: Option<Detail>,
    pub(crate) help_scroll: usize,
    /// Alerts the server sent, oldest first, at most [`alerts::KEPT`].
    pub(crate) alerts: alerts::Received,
    /// How the server's publishing to Redis goes, on a merged stream.
    pub(crate) redis: Option<crate::wire::RedisState>,
    pub(crate) mode: Mode,
    pub(crate) stats: Stats,
    pub(crate) conn: ConnState,
    /// Each server's own state, when `--url` names several.
    pub(crate) servers: servers::Servers,
    /// The backfill is done.
    pub(crate) live: bool,
    pub(crate) notice: Option<Notice>,
    pub(crate) time: TimeMode,
    /// The terminal size.
    pub(crate) size: (u16, u16),
    pub(crate) now: Instant,
    pub(crate) wall: DateTime<Utc>,
    /// Something changed since the last frame.
    pub(crate) dirty: bool,
    /// The index must be rebuilt before it is next read (see [`App::settle`]).
    pub(crate) stale: bool,
    capacity: usize,
    tail: usize,
    cut_backfill: bool,
    /// The server filters the stream: gap counts are upper bounds (see [`Gap::describe`]).
    ///
    /// [`Gap::describe`]: crate::wire::Gap::describe
    pub(crate) server_filtered: bool,
    /// Reused to build each stored row (see [`Stored::new`]).
    scratch: Scratch,
}

impl App {
    pub(crate) fn new(
        start: Start,
        target: &str,
        size: (u16, u16),
        now: Instant,
        wall: DateTime<Utc>,
    ) -> App {
        let search = start
            .search
            .as_deref()
            .map_or_else(Search::default, |p| Search::with_pattern(p, true));
        let initial = if start.cut_backfill {
            start.tail.max(1)
        } else {
            start.buffer
        };
        App {
            buffer: Buffer::new(initial),
            names: Names::new(start.rules),
            filter: ViewFilter {
                levels: start.levels,
                fixed: start.fixed,
                request: None,
            },
            fixed_labels: start.fixed_labels,
            search,
            view: View::default(),
            picker: Picker::default(),
            fields: Fields::default(),
            detail: None,
            help_scroll: 0,
            alerts: alerts::Received::new(),
            redis: None,
            gap_rows: std::collections::VecDeque::new(),
            mode: Mode::Normal,
            stats: Stats {
                received: 0,
                levels: [0; 6],
                gaps: 0,
                missed: 0,
                missed_at_most: false,
                rate: Rate::new(now),
            },
            conn: ConnState::Connecting {
                target: target.to_owned(),
                attempt: 1,
            },
            servers: servers::Servers::default(),
            live: false,
            notice: None,
            time: start.time,
            size,
            now,
            wall,
            dirty: true,
            stale: false,
            capacity: start.buffer,
            tail: start.tail,
            cut_backfill: start.cut_backfill,
            server_filtered: start.server_filtered,
            scratch: Scratch::default(),
        }
    }

    /// A key, mouse or paste event from the terminal.
    pub(crate) fn handle_event(&mut self, event: &Event) -> Effect {
        let action = match event {
            Event::Key(key) => keymap::action(self.mode, *key),
            Event::Mouse(mouse) => keymap::mouse_action(self.mode, *mouse),
            Event::Paste(text) => {
                self.paste(text);
                return Effect::None;
            }
            Event::Resize(w, h) => {
                self.resize(*w, *h);
                return Effect::None;
            }
            Event::FocusGained | Event::FocusLost => return Effect::None,
        };
        self.dirty = true;
        self.apply(action)
    }

    pub(crate) fn resize(&mut self, width: u16, height: u16) {
        self.size = (width, height);
        let detail_width = self.detail_width();
        if let Some(detail) = &mut self.detail {
            detail.set_width(detail_width);
        }
        self.view_changed();
        self.dirty = true;
    }

    /// The width of the detail overlay's text.
    pub(crate) fn detail_width(&self) -> usize {
        usize::from(layout::detail_text(self.area()).width).max(1)
    }

    fn paste(&mut self, text: &str) {
        let chars = text.chars().filter(|c| !c.is_control());
        match self.mode {
            Mode::Search => {
                for c in chars {
                    self.apply(keymap::Action::SearchEdit(InputRequest::InsertChar(c)));
                }
            }
            Mode::Picker | Mode::PickerNarrow => {
                self.mode = Mode::PickerNarrow;
                for c in chars {
                    self.picker.narrow.handle(InputRequest::InsertChar(c));
                }
                self.picker.cursor = 0;
            }
            Mode::Normal | Mode::Detail | Mode::Help | Mode::Fields | Mode::Alerts => return,
        }
        self.dirty = true;
    }

    /// One event from the source.
    pub(crate) fn on_source(&mut self, event: SourceEvent, now: Instant) {
        self.dirty = true;
        match event {
            SourceEvent::Entries(entries) => {
                for entry in entries {
                    self.push_entry(entry, now);
                }
            }
            SourceEvent::Json(entries) => {
                for entry in entries.into_entries() {
                    self.push_entry(entry, now);
                }
            }
            SourceEvent::Gap(gap) => {
                // A restart that lost nothing is a row (a new stream began), not a gap to count.
                if gap.is_loss() {
                    self.stats.gaps += 1;
                    self.stats.missed += gap.gap.missed;
                    self.stats.missed_at_most |= gap.gap.reason == crate::wire::GapReason::Restart;
                }
                let before = self.buffer.next_id().checked_sub(1);
                let at = before
                    .and_then(|id| self.buffer.get(id))
                    .and_then(Row::entry)
                    .map_or(self.wall, Stored::timestamp);
                let row = Row::Gap {
                    gap: Box::new(gap),
                    at,
                };
                self.gap_rows.push_back(self.buffer.next_id());
                let evicted = self.buffer.push(row, true);
                self.forget(evicted);
                let first = self.buffer.first_id();
                self.gap_rows.retain(|&id| id >= first);
                self.count_new(None);
            }
            SourceEvent::State(state) => {
                self.servers.update(&state);
                self.conn = state;
            }
            SourceEvent::Live => {
                self.live = true;
                if self.cut_backfill {
                    let evicted = self.buffer.set_capacity(self.capacity);
                    evicted.into_iter().for_each(|e| self.forget(Some(e)));
                }
            }
            SourceEvent::Notice(text) => self.announce(text),
            SourceEvent::Alert(alert) => self.on_alert(alert),
            SourceEvent::Redis { state, .. } => self.redis = Some(state),
            SourceEvent::Failed(reason) => {
                self.announce(reason.clone());
                self.conn = ConnState::Disconnected { reason };
            }
            SourceEvent::End => {
                self.conn = ConnState::Disconnected {
                    reason: "end of input".into(),
                };
            }
        }
        self.keep_view_in_buffer();
        self.view_changed();
    }

    /// The source's channel closed.
    pub(crate) fn source_closed(&mut self) {
        if !matches!(self.conn, ConnState::Disconnected { .. }) {
            self.conn = ConnState::Disconnected {
                reason: "the source stopped".into(),
            };
        }
        self.dirty = true;
    }

    fn push_entry(&mut self, entry: LogEntry, now: Instant) {
        self.stats.received += 1;
        if !self.live && self.cut_backfill && self.tail == 0 {
            return;
        }
        if self.live {
            self.stats.rate.record(entry.level, now);
        }
        self.stats.levels[entry.level.index()] += 1;
        let level = entry.level;
        let names = self.names.add(&entry);
        let fixed = self.filter.fixed.matches(&entry);
        let stored = Stored::new(entry, names, &self.names, fixed, &mut self.scratch);
        self.fields.widen(stored.meta());
        let row = Row::Entry(stored);
        let class = self.filter.classify(
            &row,
            &self.names,
            self.search.regex.as_ref(),
            self.search.scope,
            self.search.only_matches,
        );
        self.search.matches += usize::from(class == Some(true));
        let evicted = self.buffer.push(row, class.is_some());
        self.forget(evicted);
        if class.is_some() {
            self.count_new(Some(level));
        }
    }

    /// Takes a row that left the buffer off every count.
    fn forget(&mut self, evicted: Option<Evicted<Row>>) {
        let Some(Evicted { row, shown }) = evicted else {
            return;
        };
        if let Row::Entry(entry) = row {
            self.stats.levels[entry.level().index()] -= 1;
            self.names.remove(entry.names());
            if shown && self.search.is_match(&entry) {
                self.search.matches = self.search.matches.saturating_sub(1);
            }
        }
    }

    /// Recomputes which rows show after a filter or search change.
    pub(crate) fn refilter(&mut self) {
        let (filter, names, search) = (&self.filter, &self.names, &self.search);
        let regex = search.regex.as_ref();
        let (scope, only) = (search.scope, search.only_matches);
        self.search.matches = self.buffer.rebuild(|| {
            let regex = regex.cloned();
            move |row: &Row| filter.classify(row, names, regex.as_ref(), scope, only)
        });
        self.search.counted = true;
        self.stale = false;
        self.recount_new();
        self.view_changed();
        self.dirty = true;
    }

    /// Runs a refilter that was put off (search keystrokes), if any. The loop calls this before each
    /// frame, so a burst of typing costs one pass per frame, not one per key.
    pub(crate) fn settle(&mut self) {
        if self.stale {
            self.refilter();
        }
    }

    /// The clock: call often; marks the screen dirty when something time-based changed.
    pub(crate) fn tick(&mut self, now: Instant, wall: DateTime<Utc>) {
        let new_second = self.stats.rate.advance(now);
        self.now = now;
        self.wall = wall;
        if self.notice.as_ref().is_some_and(|n| n.until <= now) {
            self.notice = None;
            self.dirty = true;
        }
        // The sparkline, the rate, a reconnect countdown and relative times all move once a second.
        self.dirty |= new_second;
    }

    /// Tells the user about what they see now (the answer to a key, rows dropped from under the view);
    /// the next action drops it.
    pub(crate) fn notify(&mut self, text: impl Into<String>) {
        self.set_notice(text.into(), true);
    }

    /// Tells news from the source, which no key makes stale: it stays its full time.
    pub(crate) fn announce(&mut self, text: impl Into<String>) {
        self.set_notice(text.into(), false);
    }

    fn set_notice(&mut self, text: String, about_the_view: bool) {
        self.notice = Some(Notice {
            text,
            until: self.now + NOTICE_FOR,
            about_the_view,
        });
        self.dirty = true;
    }

    /// A new action makes what was said about the last one stale ("the selected entry has no
    /// requestId" must not outlive the `r` that worked after it).
    fn drop_stale_notice(&mut self) {
        if self.notice.as_ref().is_some_and(|n| n.about_the_view) {
            self.notice = None;
        }
    }

    /// The entry the user has selected (the newest while following), with its names looked up.
    pub(crate) fn selected_ref(&self) -> Option<EntryRef<'_>> {
        let entry = self.buffer.get(self.selected()?)?.entry()?;
        Some(entry.view(&self.names))
    }

    /// The entry the user has selected, rebuilt whole: for the detail view and `y`, once per key.
    pub(crate) fn selected_entry(&self) -> Option<LogEntry> {
        self.selected_ref().map(|e| e.to_entry())
    }

    /// Entries (not gap rows) the view shows.
    pub(crate) fn shown_entries(&self) -> usize {
        // The status bar asks every frame: the ids are ascending, so a binary search, not a count.
        let first = self.buffer.first_id();
        let evicted = self.gap_rows.partition_point(|&id| id < first);
        let gaps = self.gap_rows.len() - evicted;
        self.buffer.shown_len().saturating_sub(gaps)
    }

    /// Entries received in the last complete second.
    pub(crate) fn rate(&self) -> u64 {
        self.stats.rate.per_second()
    }

    /// Errors and fatals in the last complete second.
    pub(crate) fn error_rate(&self) -> u64 {
        let last = self.stats.rate.last();
        u64::from(last[Level::Error.index()]) + u64::from(last[Level::Fatal.index()])
    }
}

#[cfg(test)]
pub(crate) mod tests;
