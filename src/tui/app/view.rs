//! Where the log view looks: following the newest entry, or anchored at a top row with a selection.
//!
//! Positions are held as row ids, not screen offsets, so they survive entries arriving below and old
//! ones being evicted above. While following, the screen is filled from the newest row upwards; once
//! the user scrolls or pauses, it is filled from `top` downwards and stays put as entries arrive.
//! Only the rows on screen are ever laid out, so a step costs the same with ten rows or a million.

use regex::Regex;

use super::{App, Row};
use crate::format::TimeMode;
use crate::model::Level;
use crate::tui::buffer::RowId;
use crate::tui::keymap::Mode;
use crate::tui::layout;
use crate::tui::text::{self, Columns, Line};

/// The view's position and what happened since it stopped following.
#[derive(Debug, Clone)]
pub(crate) struct View {
    pub(crate) follow: bool,
    pub(crate) paused: bool,
    pub(crate) wrap: bool,
    pub(crate) top: RowId,
    pub(crate) selected: RowId,
    /// While paused, the first row the screen may not show: the view is a still picture of what was
    /// there when the user paused, even if the screen had room for more.
    pub(crate) until: Option<RowId>,
    /// Shown entries that arrived since the view stopped following...
    pub(crate) new: u64,
    /// ...and how many of them were errors or worse.
    pub(crate) new_errors: u64,
    /// The first row id that counts as new: the buffer's next id when the view stopped following.
    pub(crate) new_since: RowId,
    /// Where the view was before `r`, `n` or `N` moved it, for `esc` to return to.
    pub(crate) back: Option<Place>,
}

/// A view's place: what `esc` restores after a jump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    follow: bool,
    paused: bool,
    until: Option<RowId>,
    top: RowId,
    selected: RowId,
    new_since: RowId,
}

impl Default for View {
    fn default() -> View {
        View {
            follow: true,
            paused: false,
            wrap: false,
            top: 0,
            selected: 0,
            until: None,
            new: 0,
            new_errors: 0,
            new_since: 0,
            back: None,
        }
    }
}

impl App {
    /// Whether the search line is on screen.
    pub(crate) fn search_line(&self) -> bool {
        self.mode == Mode::Search || self.search.regex.is_some() || self.search.error.is_some()
    }

    pub(crate) fn log_height(&self) -> usize {
        usize::from(
            layout::areas(
                self.area(),
                self.search_line(),
                self.firing_alert().is_some(),
            )
            .log
            .height,
        )
    }

    /// The whole terminal.
    pub(crate) fn area(&self) -> ratatui::layout::Rect {
        ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1)
    }

    fn log_width(&self) -> usize {
        usize::from(self.size.0)
    }

    /// How rows are laid out at this width.
    pub(crate) fn columns(&self) -> Columns {
        let width = self.log_width();
        // A quarter of the row: at 80 columns, `source[instance] region` for a source of up to 8
        // characters, the instance id shortened to 6.
        let cap = if width < 60 { 0 } else { (width / 4).min(28) };
        Columns {
            time: self.time,
            compact_time: width < 110 || self.time == TimeMode::Relative,
            origin_width: self.names.origin_width().min(cap),
            fields_before: if self.fields.before {
                self.fields.total_width()
            } else {
                0
            },
            fields_at: (!self.fields.before && !self.view.wrap && !self.fields.chosen.is_empty())
                .then(|| width.saturating_sub(self.fields.total_width())),
            max_chars: if self.view.wrap {
                width * self.log_height().max(1)
            } else {
                width + 16
            },
            now: self.wall,
        }
    }

    /// A row as one unwrapped line, with search matches marked.
    pub(crate) fn row_line(&self, id: RowId, cols: &Columns, search: Option<&Regex>) -> Line {
        match self.buffer.get(id) {
            Some(Row::Entry(entry)) => text::entry_line(
                &entry.view(&self.names),
                cols,
                search,
                &self.fields.chosen,
                self.fields.before,
            ),
            Some(Row::Gap { gap, at }) => text::gap_line(gap, at, self.server_filtered, cols),
            None => Line::new(),
        }
    }

    /// A row as the screen lines it takes.
    fn row_lines(&self, id: RowId, cols: &Columns) -> Vec<Line> {
        let line = self.row_line(id, cols, self.search.regex.as_ref());
        if self.view.wrap {
            text::wrap(&line, self.log_width(), cols.message_column())
        } else {
            vec![line]
        }
    }

    fn row_height(&self, id: RowId, cols: &Columns) -> usize {
        if self.view.wrap {
            self.row_lines(id, cols).len()
        } else {
            1
        }
    }

    /// The log view's lines, top to bottom, each with the row it belongs to.
    pub(crate) fn screen_lines(&self) -> Vec<(RowId, Line)> {
        let height = self.log_height();
        let len = self.view_len();
        let cols = self.columns();
        let mut out = Vec::with_capacity(height);
        if self.view.follow {
            let mut pos = len;
            while pos > 0 && out.len() < height {
                pos -= 1;
                let id = self.buffer.shown_id(pos).unwrap_or_default();
                for line in self.row_lines(id, &cols).into_iter().rev() {
                    if out.len() == height {
                        break;
                    }
                    out.push((id, line));
                }
            }
            out.reverse();
        } else {
            let mut pos = self.buffer.position(self.view.top);
            while pos < len && out.len() < height {
                let id = self.buffer.shown_id(pos).unwrap_or_default();
                for line in self.row_lines(id, &cols) {
                    if out.len() == height {
                        break;
                    }
                    out.push((id, line));
                }
                pos += 1;
            }
        }
        out
    }

    /// How many shown rows the view can reach: all of them, except while paused.
    pub(crate) fn view_len(&self) -> usize {
        match self.view.until {
            Some(until) if !self.view.follow => self.buffer.position(until),
            _ => self.buffer.shown_len(),
        }
    }

    /// The selected row: the newest shown while following.
    pub(crate) fn selected(&self) -> Option<RowId> {
        if self.view.follow {
            return self.buffer.last_shown();
        }
        let len = self.view_len();
        let pos = self
            .buffer
            .position(self.view.selected)
            .min(len.checked_sub(1)?);
        self.buffer.shown_id(pos)
    }

    /// The highest position that can be the top row with `bottom` still fully on a screen of
    /// `height` lines.
    fn top_for_bottom(&self, bottom: usize, height: usize, cols: &Columns) -> usize {
        let height = height.max(1);
        if !self.view.wrap {
            return (bottom + 1).saturating_sub(height);
        }
        let id = |pos| self.buffer.shown_id(pos).unwrap_or_default();
        let mut top = bottom;
        let mut used = self.row_height(id(bottom), cols);
        while top > 0 {
            let above = self.row_height(id(top - 1), cols);
            if used + above > height {
                break;
            }
            used += above;
            top -= 1;
        }
        top
    }

    /// Keeps the selection on screen and the screen full, after anything moved.
    pub(crate) fn view_changed(&mut self) {
        let len = self.view_len();
        if self.view.follow || len == 0 {
            return;
        }
        let cols = self.columns();
        let height = self.log_height();
        let sel = self.buffer.position(self.view.selected).min(len - 1);
        let mut top = self.buffer.position(self.view.top).min(len - 1);
        top = top.min(self.top_for_bottom(len - 1, height, &cols));
        top = top.clamp(self.top_for_bottom(sel, height, &cols), sel);
        self.view.top = self.buffer.shown_id(top).unwrap_or_default();
        self.view.selected = self.buffer.shown_id(sel).unwrap_or_default();
    }

    /// The position just past the rows that fill a screen of `height` lines from position `top`.
    fn screen_end(&self, top: usize, height: usize, cols: &Columns) -> usize {
        let len = self.buffer.shown_len();
        let (mut pos, mut used) = (top, 0);
        while pos < len && used < height {
            used += self.row_height(self.buffer.shown_id(pos).unwrap_or_default(), cols);
            pos += 1;
        }
        pos
    }

    /// After evictions: when the rows a paused or scrolled view was showing have left the bounded
    /// buffer, the view moves to the oldest rows still held and says so. A paused view's end moves
    /// with it, or nothing before it would be left and the screen would claim the filters hide
    /// everything.
    pub(crate) fn keep_view_in_buffer(&mut self) {
        let first = self.buffer.first_id();
        if self.view.follow || self.view.top >= first {
            return;
        }
        self.view.top = first;
        if let Some(until) = self.view.until {
            let cols = self.columns();
            let end = self.screen_end(0, self.log_height(), &cols);
            let end = self.buffer.shown_id(end).unwrap_or(self.buffer.next_id());
            self.view.until = Some(until.max(end));
        }
        // Short enough to stay beside the paused banner on a 100-column status bar.
        self.notify("the rows you were viewing were dropped: the buffer is full");
    }

    /// Stops following, keeping what the screen shows.
    pub(crate) fn unfollow(&mut self) {
        if !self.view.follow {
            return;
        }
        let len = self.view_len();
        let cols = self.columns();
        let top = len.checked_sub(1).map_or(0, |last| {
            self.top_for_bottom(last, self.log_height(), &cols)
        });
        self.view.follow = false;
        self.view.top = self.buffer.shown_id(top).unwrap_or(self.buffer.next_id());
        self.view.selected = self.buffer.last_shown().unwrap_or(self.buffer.next_id());
        self.view.new = 0;
        self.view.new_errors = 0;
        self.view.new_since = self.buffer.next_id();
    }

    /// Counts the new rows again after the shown set changed (a filter or search change), so
    /// `+N new` describes what the view now shows.
    pub(crate) fn recount_new(&mut self) {
        if self.view.follow {
            return;
        }
        let from = self.buffer.position(self.view.new_since);
        let levels = (from..self.buffer.shown_len())
            .filter_map(|pos| self.buffer.get(self.buffer.shown_id(pos)?))
            .map(|row| row.entry().map(|e| e.level()));
        let (mut new, mut errors) = (0, 0);
        for level in levels {
            new += 1;
            errors += u64::from(level.is_some_and(|l| l >= Level::Error));
        }
        self.view.new = new;
        self.view.new_errors = errors;
    }

    /// Keeps the view's place before a jump (`r`, `n`, `N`). A series of jumps keeps the first place,
    /// so `esc` goes back to where the user was before all of them.
    pub(crate) fn remember_place(&mut self) {
        let v = &self.view;
        self.view.back.get_or_insert(Place {
            follow: v.follow,
            paused: v.paused,
            until: v.until,
            top: v.top,
            selected: v.selected,
            new_since: v.new_since,
        });
    }

    /// Returns to the place kept before the jumps, following again if the view was; the rows kept
    /// may be hidden or gone by now, so the nearest shown ones stand in.
    pub(crate) fn return_to_place(&mut self) {
        let Some(place) = self.view.back.take() else {
            return;
        };
        if place.follow {
            self.follow();
            return;
        }
        let nearest = |app: &App, id: RowId| {
            let len = app.view_len();
            app.buffer
                .shown_id(app.buffer.position(id).min(len.saturating_sub(1)))
                .unwrap_or(id)
        };
        self.view.follow = false;
        self.view.paused = place.paused;
        self.view.until = place.until;
        self.view.new_since = place.new_since;
        self.view.top = nearest(self, place.top);
        self.view.selected = nearest(self, place.selected);
        self.recount_new();
        self.view_changed();
    }

    /// Jumps to the newest entry and follows it.
    pub(crate) fn follow(&mut self) {
        // Back to live: there is nowhere to return to any more.
        self.view.back = None;
        self.view.follow = true;
        self.view.paused = false;
        self.view.until = None;
        self.view.new = 0;
        self.view.new_errors = 0;
    }

    pub(crate) fn toggle_pause(&mut self) {
        if self.view.paused {
            self.follow();
        } else {
            self.unfollow();
            self.view.paused = true;
            self.view.until = Some(self.buffer.next_id());
        }
    }

    /// Moves the selection by `delta` rows. Moving down from the newest row follows again, unless paused.
    pub(crate) fn move_by(&mut self, delta: isize) {
        let len = self.view_len();
        if len == 0 || (self.view.follow && delta >= 0) {
            return;
        }
        self.unfollow();
        let sel = self.buffer.position(self.view.selected).min(len - 1);
        let len = self.take_in_arrivals(sel.saturating_add_signed(delta), len);
        if delta > 0 && sel + 1 == len {
            if !self.view.paused {
                self.follow();
            }
            return;
        }
        let target = sel.saturating_add_signed(delta).min(len - 1);
        self.view.selected = self.buffer.shown_id(target).unwrap_or_default();
        self.view_changed();
    }

    /// Paused, scrolling down past the last row shown when the view paused goes on into the entries
    /// that arrived since, up to position `want`: they join the still picture and stop counting as
    /// new, so `+N new` counts down as they come into view. Returns the view's length after.
    fn take_in_arrivals(&mut self, want: usize, len: usize) -> usize {
        let shown = self.buffer.shown_len();
        if !self.view.paused || want < len || shown <= len {
            return len;
        }
        let len = (want + 1).min(shown);
        let until = self.buffer.shown_id(len).unwrap_or(self.buffer.next_id());
        self.view.until = Some(until);
        self.view.new_since = self.view.new_since.max(until);
        self.recount_new();
        len
    }

    /// Moves a screenful, keeping the selection's place on screen.
    pub(crate) fn page(&mut self, down: bool) {
        let len = self.view_len();
        if len == 0 || (self.view.follow && down) {
            return;
        }
        self.unfollow();
        let rows = {
            let mut ids: Vec<RowId> = self.screen_lines().into_iter().map(|(id, _)| id).collect();
            ids.dedup();
            ids.len().saturating_sub(1).max(1)
        };
        let sel = self.buffer.position(self.view.selected).min(len - 1);
        let len = if down {
            self.take_in_arrivals(sel + rows, len)
        } else {
            len
        };
        if down && sel + 1 == len {
            if !self.view.paused {
                self.follow();
            }
            return;
        }
        let top = self.buffer.position(self.view.top).min(len - 1);
        let step = |pos: usize| {
            if down {
                (pos + rows).min(len - 1)
            } else {
                pos.saturating_sub(rows)
            }
        };
        self.view.selected = self.buffer.shown_id(step(sel)).unwrap_or_default();
        self.view.top = self.buffer.shown_id(step(top)).unwrap_or_default();
        self.view_changed();
    }

    /// Goes to the oldest row in the buffer.
    pub(crate) fn go_top(&mut self) {
        self.unfollow();
        if let Some(first) = self.buffer.shown_id(0) {
            self.view.top = first;
            self.view.selected = first;
        }
    }

    /// Selects `id`, scrolling only if it is off screen, and then to put it mid-screen.
    pub(crate) fn reveal(&mut self, id: RowId) {
        self.unfollow();
        let on_screen = self.screen_lines().iter().any(|(row, _)| *row == id);
        self.view.selected = id;
        if !on_screen {
            let cols = self.columns();
            let pos = self.buffer.position(id);
            let top = self.top_for_bottom(pos, self.log_height() / 2 + 1, &cols);
            self.view.top = self.buffer.shown_id(top).unwrap_or(id);
        }
        self.view_changed();
    }

    /// Counts an arrival the user is not watching.
    pub(crate) fn count_new(&mut self, level: Option<Level>) {
        if let (false, Some(level)) = (self.view.follow, level) {
            self.view.new += 1;
            self.view.new_errors += u64::from(level >= Level::Error);
        }
    }

    /// The next (`forward`: newer) shown entry matching the search, wrapping around once; and whether
    /// it wrapped.
    pub(crate) fn find_match(
        &self,
        forward: bool,
        include_selected: bool,
    ) -> Option<(RowId, bool)> {
        self.search.regex.as_ref()?;
        let len = self.view_len();
        let sel = self.selected().map_or(len, |id| self.buffer.position(id));
        let hit = |pos: usize| {
            let id = self.buffer.shown_id(pos)?;
            let entry = self.buffer.get(id)?.entry()?;
            self.search.is_match(entry).then_some(id)
        };
        let order: Box<dyn Iterator<Item = (usize, bool)>> = if forward {
            let from = if include_selected { sel } else { sel + 1 };
            let wrapped = (0..from.min(len)).map(|pos| (pos, true));
            Box::new((from..len).map(|pos| (pos, false)).chain(wrapped))
        } else {
            let to = (if include_selected { sel + 1 } else { sel }).min(len);
            let wrapped = (to..len).rev().map(|pos| (pos, true));
            Box::new((0..to).rev().map(|pos| (pos, false)).chain(wrapped))
        };
        order
            .into_iter()
            .find_map(|(pos, wrapped)| hit(pos).map(|id| (id, wrapped)))
    }
}
