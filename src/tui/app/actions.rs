//! What each [`Action`] does to the state. The same action can mean different things in different
//! modes (`↓` moves the log selection, scrolls the detail, or moves the picker's cursor).

use tui_input::InputRequest;

use super::{App, Detail, Effect, RequestFilter};
use crate::model::REQUEST_ID_KEY;
use crate::tui::keymap::{Action, Mode};
use crate::tui::layout;
use crate::tui::text;

/// Up to this many buffered rows, the match count follows every keystroke; beyond, it waits for Enter,
/// so typing stays quick with a million rows.
const LIVE_COUNT_ROWS: usize = 200_000;

/// Keys in `meta` that `r` recognises as a request id, most common first.
// `traceId`: what OTLP ingest maps a trace id to, so `r` follows a trace too.
const REQUEST_KEYS: &[&str] = &[REQUEST_ID_KEY, "request_id", "reqId", "req_id", "traceId"];

impl App {
    /// Carries out one action.
    pub(crate) fn apply(&mut self, action: Action) -> Effect {
        self.dirty = true;
        if action != Action::Nothing {
            self.drop_stale_notice();
        }
        // Keystrokes in the search coalesce into one pass; anything else sees an up-to-date view.
        if !matches!(action, Action::SearchEdit(_)) {
            self.settle();
        }
        match action {
            Action::Nothing => {}
            Action::Quit => return Effect::Quit,
            Action::OpenHelp => {
                self.help_scroll = 0;
                self.mode = Mode::Help;
            }
            Action::OpenAlerts => self.mode = Mode::Alerts,
            Action::Close => {
                self.mode = Mode::Normal;
                self.detail = None;
            }
            Action::TogglePause => self.toggle_pause(),
            Action::Up | Action::Down | Action::PageUp | Action::PageDown => self.step(action),
            Action::Top | Action::Follow | Action::Scroll(_) => self.step(action),
            Action::ToggleLevel(level) => {
                self.filter.levels[level.index()] ^= true;
                self.refilter();
            }
            Action::OpenPicker => self.open_picker(),
            Action::StartSearch => {
                self.mode = Mode::Search;
                self.search.input.handle(InputRequest::GoToEnd);
            }
            Action::SearchEdit(request) => {
                if self.search.edit(request) {
                    self.search.counted = false;
                    // Highlighting needs no pass (only visible rows are drawn). Filtering does, and so
                    // does the live count, which is skipped for big buffers until Enter.
                    let count_live = self.buffer.len() <= LIVE_COUNT_ROWS;
                    self.stale |= self.search.only_matches || count_live;
                }
            }
            Action::ConfirmSearch => {
                if !self.search.confirm() {
                    self.notify("the pattern does not compile: fix it, or esc to cancel");
                    return Effect::None;
                }
                self.mode = Mode::Normal;
                self.stale |= !self.search.counted;
                self.settle();
                // A live view stays live (new matches highlight as they arrive, N goes back to the
                // last one); a view the user has moved goes to the nearest match at or above.
                if !self.search.only_matches && !self.view.follow {
                    self.jump_to_match(false, true);
                }
            }
            Action::CancelSearch => self.cancel(),
            Action::NextMatch => self.jump_to_match(true, false),
            Action::PrevMatch => self.jump_to_match(false, false),
            Action::ToggleOnlyMatches => {
                if self.search.regex.is_some() {
                    self.search.only_matches ^= true;
                    self.refilter();
                } else {
                    self.notify("no search to filter by: press / first");
                }
            }
            Action::ToggleSearchScope => {
                self.search.scope = self.search.scope.toggled();
                // With a search in force the status bar already says which; without one, say it
                // once so the key is not silent.
                if self.search.regex.is_some() {
                    self.refilter();
                } else {
                    let label = self.search.scope.label();
                    self.notify(format!("the next search matches: {label}"));
                }
            }
            Action::OpenFields => self.open_fields(),
            Action::FieldToggle => self.toggle_field(),
            Action::FieldPlacement => {
                self.fields.before ^= true;
                self.view_changed();
            }
            Action::OpenDetail => match self.selected_entry() {
                Some(entry) => {
                    self.detail = Some(Detail::new(entry, self.detail_width()));
                    self.mode = Mode::Detail;
                }
                None => self.notify("no entry selected"),
            },
            Action::DetailStep(delta) => self.detail_step(delta),
            Action::Export => self.export_to(std::path::Path::new(".")),
            Action::Copy => return self.copy(),
            Action::CycleTime => {
                self.time = self.time.next();
                self.view_changed();
            }
            Action::ToggleWrap => {
                self.view.wrap ^= true;
                self.view_changed();
            }
            Action::FilterRequest => {
                // From the detail: its entry is the selected row, and the pivot shows in the list.
                self.mode = Mode::Normal;
                self.detail = None;
                self.filter_request();
            }
            Action::ClearBuffer => self.clear(),
            Action::PickerToggle => self.picker_toggle(),
            Action::PickerAll => self.picker_all(),
            Action::PickerNextDim => self.picker_switch(self.picker.dim.next()),
            Action::PickerPrevDim => self.picker_switch(self.picker.dim.prev()),
            Action::PickerType(c) => self.picker_edit(InputRequest::InsertChar(c)),
            Action::PickerStartNarrow => self.mode = Mode::PickerNarrow,
            Action::PickerNarrowEdit(request) => self.picker_edit(request),
            Action::PickerCancelNarrow => {
                self.picker.narrow.reset();
                self.picker.cursor = 0;
                self.mode = Mode::Picker;
            }
        }
        Effect::None
    }

    /// Movement, which depends on what is open.
    fn step(&mut self, action: Action) {
        let page = |app: &App| {
            match app.mode {
                Mode::Detail => usize::from(layout::detail_text(app.area()).height),
                _ => app.log_height(),
            }
            .saturating_sub(1)
            .max(1) as isize
        };
        let delta: isize = match action {
            Action::Up => -1,
            Action::Down => 1,
            Action::PageUp => -page(self),
            Action::PageDown => page(self),
            Action::Scroll(n) => isize::from(n),
            Action::Top => isize::MIN / 2,
            _ => isize::MAX / 2,
        };
        match self.mode {
            Mode::Normal => match action {
                Action::PageUp | Action::PageDown => self.page(delta > 0),
                Action::Top => self.go_top(),
                Action::Follow => self.follow(),
                _ => self.move_by(delta),
            },
            Mode::Detail => {
                let max = self.detail_max_scroll();
                if let Some(detail) = &mut self.detail {
                    // Clamped first too: after a resize the old scroll may lie past the end.
                    let from = detail.scroll.min(max);
                    detail.scroll = from.saturating_add_signed(delta).min(max);
                }
            }
            Mode::Help => {
                let max = layout::help_max_scroll(self.area());
                // Clamped first too: after a resize the old scroll may lie past the end.
                let from = self.help_scroll.min(max);
                self.help_scroll = from.saturating_add_signed(delta).min(max);
            }
            Mode::Picker | Mode::PickerNarrow => self.picker_move(delta.signum()),
            Mode::Fields => self.fields.move_cursor(delta.signum()),
            Mode::Search | Mode::Alerts => {}
        }
    }

    /// How many lines the open detail has at this size.
    pub(crate) fn detail_lines(&self) -> usize {
        self.detail.as_ref().map_or(0, |d| {
            let (time, body) = d.lines(self.wall, self.detail_width());
            time.len() + body.len()
        })
    }

    /// The furthest the detail scrolls: its last page filled, the last line at the bottom.
    fn detail_max_scroll(&self) -> usize {
        let height = usize::from(layout::detail_text(self.area()).height);
        text::detail::max_scroll(self.detail_lines(), height)
    }

    /// Esc: clears the search, or else the request filter, and returns to where the view was before
    /// `r`, `n` or `N` moved it.
    fn cancel(&mut self) {
        self.mode = Mode::Normal;
        // One Esc clears one thing: the search first, then the request filter.
        if self.search.clear() || self.filter.request.take().is_some() {
            self.refilter();
            self.return_to_place();
        }
    }

    fn jump_to_match(&mut self, forward: bool, include_selected: bool) {
        if self.search.regex.is_none() {
            self.notify("no search: press / to search");
            return;
        }
        match self.find_match(forward, include_selected) {
            Some((id, wrapped)) => {
                self.remember_place();
                self.reveal(id);
                if wrapped {
                    let end = if forward { "oldest" } else { "newest" };
                    self.notify(format!("search wrapped around to the {end} entries"));
                }
            }
            None => self.notify("no match in the buffer"),
        }
    }

    /// The detail shows the next or previous entry of the view; the selection moves with it, so
    /// closing the detail leaves the list on the entry last shown.
    fn detail_step(&mut self, delta: i8) {
        let before = self.selected();
        self.move_by(isize::from(delta));
        if self.selected() == before {
            let end = if delta > 0 { "newest" } else { "oldest" };
            self.notify(format!("this is the {end} entry shown"));
            return;
        }
        if let Some(entry) = self.selected_entry() {
            self.detail = Some(Detail::new(entry, self.detail_width()));
        }
    }

    fn copy(&mut self) -> Effect {
        let json = match (&self.detail, self.mode) {
            (Some(detail), Mode::Detail) => Some(detail.entry.to_json()),
            _ => self.selected_entry().map(|e| e.to_json()),
        };
        match json {
            Some(json) => {
                // vg cannot know whether the terminal carried the escape out: say what was done.
                self.notify(format!(
                    "sent the entry as JSON ({} bytes) to the terminal's clipboard (OSC 52)",
                    json.len()
                ));
                Effect::Copy(json)
            }
            None => {
                self.notify("nothing to copy: select an entry");
                Effect::None
            }
        }
    }

    /// `r`: only the selected entry's request, or everything again.
    fn filter_request(&mut self) {
        if self.filter.request.take().is_some() {
            self.refilter();
            self.return_to_place();
            return;
        }
        let selected = self.selected();
        let found = self.selected_ref().and_then(|entry| {
            REQUEST_KEYS
                .iter()
                .find_map(|key| Some((*key, entry.meta.get(key)?.to_value())))
        });
        let Some((key, value)) = found else {
            self.notify(format!("the selected entry has no {}", REQUEST_KEYS[0]));
            return;
        };
        self.remember_place();
        self.filter.request = Some(RequestFilter::new(key.to_owned(), value));
        self.refilter();
        if let Some(id) = selected.filter(|&id| self.buffer.is_shown(id)) {
            self.reveal(id);
        }
    }

    /// `c`: empties the buffer; the counts of what was received stay.
    fn clear(&mut self) {
        self.buffer.clear();
        self.view.back = None;
        self.stats.levels = [0; 6];
        for set in &mut self.names.sets {
            set.zero_counts();
        }
        self.search.matches = 0;
        self.follow();
        self.notify("buffer cleared");
    }
}
