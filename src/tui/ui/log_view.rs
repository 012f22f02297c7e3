//! The log view: the rows on screen, the selection, and what to say when there is nothing to show.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{set_segments, theme};
use crate::client::ConnState;
use crate::tui::app::App;

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.is_empty() {
        return;
    }
    let lines = app.screen_lines();
    if lines.is_empty() {
        placeholder(app, area, buf);
        return;
    }
    // While following there is no selection to show: a bar jumping with every entry is noise.
    let selected = (!app.view.follow).then(|| app.selected()).flatten();
    for (y, (id, line)) in (area.y..area.bottom()).zip(&lines) {
        set_segments(buf, area.x, y, line, area.width);
        if Some(*id) == selected {
            buf.set_style(Rect::new(area.x, y, area.width, 1), theme::selected());
        }
    }
}

fn placeholder(app: &App, area: Rect, buf: &mut Buffer) {
    let text = if app.buffer.len() > 0 {
        format!(
            "{} entries in the buffer, none shown: press 1-6 for levels, s for sources, esc to clear the search",
            crate::tui::text::thousands(app.buffer.len() as u64)
        )
    } else {
        match &app.conn {
            ConnState::Disconnected { reason } => format!("no entries ({reason})"),
            _ => "waiting for entries…".to_owned(),
        }
    };
    Paragraph::new(Line::styled(text, theme::dim()))
        .wrap(Wrap { trim: true })
        .render(area, buf);
}
