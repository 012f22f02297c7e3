//! The detail overlay: one entry, every field, scrollable.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Widget};

use super::{set_segments, theme};
use crate::tui::app::App;
use crate::tui::text::detail;

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(open) = &app.detail else {
        return;
    };
    let block = Block::bordered()
        .border_style(theme::border())
        .title(Line::styled(" Entry ", theme::key()))
        .title_bottom(Line::styled(
            " esc close · ←→ entries · r request · y copy as JSON · ↑↓ scroll ",
            theme::dim(),
        ));
    let inner = block.inner(area);
    Clear.render(area, buf);
    block.render(area, buf);
    if inner.is_empty() {
        return;
    }
    let (time, body) = open.lines(app.wall, usize::from(inner.width));
    let total = time.len() + body.len();
    let scroll = open
        .scroll
        .min(detail::max_scroll(total, usize::from(inner.height)));
    let lines = time.iter().chain(body.iter()).skip(scroll);
    for (y, line) in (inner.y..inner.bottom()).zip(lines) {
        set_segments(buf, inner.x, y, line, inner.width);
    }
    if total > usize::from(inner.height) {
        let more = format!(
            " {}/{} ",
            (scroll + usize::from(inner.height)).min(total),
            total
        );
        let line = Line::styled(more, theme::dim()).right_aligned();
        let top = Rect::new(area.x + 1, area.y, area.width.saturating_sub(2), 1);
        line.render(top, buf);
    }
}
