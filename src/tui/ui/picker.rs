//! The picker overlay: every source (or instance, or region) seen, with its count and whether it shows.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Widget};

use super::theme;
use crate::tui::app::{App, Dim};
use crate::tui::keymap::Mode;
use crate::tui::text::{display, fit, thousands, width};

pub(super) fn render(app: &App, area: Rect, frame: &mut Frame) {
    let listed = app.picker_listed();
    let set = app.names.get(app.picker.dim);
    // Borders, the narrowing line, and one line per name.
    let height = (listed.len() as u16).saturating_add(3).max(5);
    let popup = crate::tui::layout::centered(area, 64, height);
    if popup.width < 12 || popup.height < 4 {
        return;
    }
    let titles: Vec<Span<'static>> = Dim::ALL
        .into_iter()
        .flat_map(|dim| {
            let style = if dim == app.picker.dim {
                theme::key().reversed()
            } else {
                theme::dim()
            };
            [
                Span::styled(format!(" {} ", dim.title()), style),
                Span::raw(" "),
            ]
        })
        .collect();
    // Counts the ticked boxes, not the rows a narrowed list shows.
    let shown = format!(" {} of {} checked ", set.len() - set.hidden(), set.len());
    let mut block = Block::bordered()
        .border_style(theme::border())
        .title(Line::from(titles))
        .title_bottom(Line::styled(
            " space toggle · ^a all/none · tab next · enter close ",
            theme::dim(),
        ));
    if popup.width >= 56 {
        block = block.title_top(Line::styled(shown, theme::dim()).right_aligned());
    }
    let inner = block.inner(popup);
    Clear.render(popup, frame.buffer_mut());
    block.render(popup, frame.buffer_mut());

    let narrowing = app.mode == Mode::PickerNarrow;
    let narrow = display(app.picker.narrow.value());
    let prompt = if narrow.is_empty() && !narrowing {
        Line::styled("type to narrow the list", theme::dim())
    } else {
        Line::from(vec![
            Span::styled("narrow: ", theme::key()),
            Span::raw(narrow.clone()),
        ])
    };
    let buf = frame.buffer_mut();
    buf.set_line(inner.x, inner.y, &prompt, inner.width);
    let rows = usize::from(inner.height.saturating_sub(1));
    let offset = (app.picker.cursor + 1).saturating_sub(rows);
    let count_width = 9;
    let name_width = usize::from(inner.width).saturating_sub(4 + count_width + 1);
    for (i, &id) in listed.iter().enumerate().skip(offset).take(rows) {
        let y = inner.y + 1 + (i - offset) as u16;
        let on = set.is_on(id);
        let check = if on { "[x] " } else { "[ ] " };
        let name_style = if on {
            theme::class(crate::tui::text::Class::Origin)
        } else {
            theme::dim()
        };
        let line = Line::from(vec![
            Span::raw(check),
            Span::styled(fit(&set.label(id), name_width), name_style),
            Span::styled(
                format!(" {:>count_width$}", thousands(set.count(id))),
                theme::dim(),
            ),
        ]);
        buf.set_line(inner.x, y, &line, inner.width);
        if i == app.picker.cursor {
            buf.set_style(Rect::new(inner.x, y, inner.width, 1), theme::selected());
        }
    }
    if listed.is_empty() {
        let none = if set.len() == 0 {
            "none seen yet"
        } else {
            "nothing matches"
        };
        buf.set_line(
            inner.x,
            inner.y + 1,
            &Line::styled(none, theme::dim()),
            inner.width,
        );
    }
    if narrowing {
        let x =
            inner.x + (8 + width(&narrow)).min(usize::from(inner.width.saturating_sub(1))) as u16;
        frame.set_cursor_position(Position::new(x, inner.y));
    }
}
