//! The field-columns overlay (`v`): the `meta` keys the buffer holds, with how many rows have each,
//! which of them show as columns, and where the columns go.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Widget};

use super::theme;
use crate::tui::app::App;
use crate::tui::text::{Class, display, fit, thousands};

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let fields = &app.fields;
    // Borders, the placement line, and one line per key.
    let height = (fields.offered.len() as u16).saturating_add(3).max(5);
    let popup = crate::tui::layout::centered(area, 64, height);
    if popup.width < 12 || popup.height < 4 {
        return;
    }
    let block = Block::bordered()
        .border_style(theme::border())
        .title(Line::styled(" Field columns ", theme::key()))
        .title_bottom(Line::styled(
            " space toggle · b before/after · enter close ",
            theme::dim(),
        ));
    let inner = block.inner(popup);
    Clear.render(popup, buf);
    block.render(popup, buf);
    let place = if fields.before {
        "before the message"
    } else {
        "after the message"
    };
    let placement = Line::from(vec![
        Span::styled("columns: ", theme::key()),
        Span::raw(place),
        Span::styled(" (b)", theme::dim()),
    ]);
    buf.set_line(inner.x, inner.y, &placement, inner.width);
    let rows = usize::from(inner.height.saturating_sub(1));
    let offset = (fields.cursor + 1).saturating_sub(rows);
    let count_width = 9;
    let key_width = usize::from(inner.width).saturating_sub(4 + count_width + 1);
    for (i, (key, count)) in fields.offered.iter().enumerate().skip(offset).take(rows) {
        let y = inner.y + 1 + (i - offset) as u16;
        let on = fields.is_chosen(key);
        let style = if on {
            theme::class(Class::Field)
        } else {
            theme::class(Class::Plain)
        };
        let line = Line::from(vec![
            Span::raw(if on { "[x] " } else { "[ ] " }),
            Span::styled(fit(&display(key), key_width), style),
            Span::styled(
                format!(" {:>count_width$}", thousands(*count as u64)),
                theme::dim(),
            ),
        ]);
        buf.set_line(inner.x, y, &line, inner.width);
        if i == fields.cursor {
            buf.set_style(Rect::new(inner.x, y, inner.width, 1), theme::selected());
        }
    }
    if fields.offered.is_empty() {
        let empty = Line::styled("no entry in the buffer has meta fields yet", theme::dim());
        buf.set_line(inner.x, inner.y + 1, &empty, inner.width);
    }
}
