//! Drawing the screen: a pure function of [`App`]. Nothing here changes state, and only the rows on
//! screen are turned into cells, so a frame costs the same with a hundred entries buffered or a million.

mod alerts;
mod detail;
mod fields;
mod header;
mod help;
mod log_view;
mod picker;
mod search_bar;
mod status_bar;
pub(crate) mod theme;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::text::Span;

use crate::tui::app::App;
use crate::tui::keymap::Mode;
use crate::tui::layout;
use crate::tui::text::{Segment, is_printable_ascii};

/// Draws the whole screen.
pub(crate) fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let areas = layout::areas(area, app.search_line(), app.firing_alert().is_some());
    header::render(app, areas.header, frame.buffer_mut());
    alerts::banner(app, areas.banner, frame.buffer_mut());
    log_view::render(app, areas.log, frame.buffer_mut());
    search_bar::render(app, areas.search, frame);
    status_bar::render(app, areas.status, frame.buffer_mut());
    match app.mode {
        Mode::Picker | Mode::PickerNarrow => picker::render(app, layout::overlay(area), frame),
        Mode::Detail => detail::render(app, layout::overlay(area), frame.buffer_mut()),
        Mode::Help => help::render(app, layout::overlay(area), frame.buffer_mut()),
        Mode::Fields => fields::render(app, layout::overlay(area), frame.buffer_mut()),
        Mode::Alerts => alerts::render(app, layout::overlay(area), frame.buffer_mut()),
        Mode::Normal | Mode::Search => {}
    }
}

/// Draws styled segments from `(x, y)` in at most `max_width` cells, as `Buffer::set_line` would
/// draw them as a line of spans. A printable-ASCII segment (nearly all of a log) is written a cell per
/// byte: `set_line` segments every string into graphemes, which was a quarter of a frame's time, and
/// for such text each byte is one grapheme one cell wide.
fn set_segments(buf: &mut Buffer, mut x: u16, y: u16, segments: &[Segment], max_width: u16) {
    let mut remaining = max_width;
    for segment in segments {
        if remaining == 0 {
            break;
        }
        let style = theme::class(segment.class);
        let start = x;
        if is_printable_ascii(&segment.text) {
            let room = buf.area.right().saturating_sub(x).min(remaining);
            for &byte in segment.text.as_bytes().iter().take(usize::from(room)) {
                buf[(x, y)].set_char(char::from(byte)).set_style(style);
                x += 1;
            }
        } else {
            x = buf
                .set_stringn(x, y, &segment.text, usize::from(remaining), style)
                .0;
        }
        remaining = remaining.saturating_sub(x.saturating_sub(start));
    }
}

/// The display width of spans.
fn spans_width(spans: &[Span<'_>]) -> usize {
    spans
        .iter()
        .map(|s| crate::tui::text::width(&s.content))
        .sum()
}

#[cfg(test)]
mod tests;
