//! Drawing the screen: a pure function of [`App`]. Nothing here changes state, and only the rows on
//! screen are turned into cells, so a frame costs the same with a hundred entries buffered or a million.

mod detail;
mod header;
mod help;
mod log_view;
mod picker;
mod search_bar;
mod status_bar;
pub(crate) mod theme;

use ratatui::Frame;
use ratatui::text::{Line, Span};

use crate::tui::app::App;
use crate::tui::keymap::Mode;
use crate::tui::layout;
use crate::tui::text::Segment;

/// Draws the whole screen.
pub(crate) fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let areas = layout::areas(area, app.search_line());
    header::render(app, areas.header, frame.buffer_mut());
    log_view::render(app, areas.log, frame.buffer_mut());
    search_bar::render(app, areas.search, frame);
    status_bar::render(app, areas.status, frame.buffer_mut());
    match app.mode {
        Mode::Picker | Mode::PickerNarrow => picker::render(app, layout::overlay(area), frame),
        Mode::Detail => detail::render(app, layout::overlay(area), frame.buffer_mut()),
        Mode::Help => help::render(app, layout::overlay(area), frame.buffer_mut()),
        Mode::Normal | Mode::Search => {}
    }
}

/// Styled segments as a ratatui line.
fn to_line(segments: &[Segment]) -> Line<'_> {
    Line::from(
        segments
            .iter()
            .map(|s| Span::styled(s.text.as_str(), theme::class(s.class)))
            .collect::<Vec<_>>(),
    )
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
