//! The help overlay, written from the keymap table so it always tells the truth.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Widget};

use super::theme;
use crate::tui::app::App;
use crate::tui::keymap::help_sections;
use crate::tui::layout;

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    // Narrow terminals give the descriptions more room.
    let key_width = if area.width < 60 { 12 } else { 16 };
    let mut lines: Vec<Line<'static>> = Vec::new();
    for (title, keys) in help_sections() {
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(title, theme::key()));
        for (keys, what) in keys {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {keys:<key_width$}"),
                    theme::class(crate::tui::text::Class::Origin),
                ),
                Span::raw(what),
            ]));
        }
    }
    debug_assert_eq!(lines.len(), layout::help_line_count());
    let popup = layout::help_popup(area);
    let block = Block::bordered()
        .border_style(theme::border())
        .title(Line::styled(" Keys ", theme::key()))
        .title_bottom(Line::styled(" esc close · ↑↓ scroll ", theme::dim()));
    let inner = block.inner(popup);
    Clear.render(popup, buf);
    block.render(popup, buf);
    let scroll = app.help_scroll.min(layout::help_max_scroll(area));
    for (y, line) in (inner.y..inner.bottom()).zip(lines.iter().skip(scroll)) {
        buf.set_line(inner.x, y, line, inner.width);
    }
}
