//! The alerts overlay (`A`): every alert the server sent since the viewer started, newest first.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Widget};

use super::theme;
use crate::model::Level;
use crate::tui::app::App;
use crate::tui::layout;
use crate::wire::{Alert, AlertState};

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let lines: Vec<Line<'static>> = if app.alerts.is_empty() {
        vec![Line::styled(
            "No alerts yet: they appear here when the server's alert rules fire or resolve.",
            theme::dim(),
        )]
    } else {
        app.alerts.iter().rev().map(|a| line(app, a)).collect()
    };
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let popup = layout::centered(area, area.width.saturating_sub(4), height);
    let block = Block::bordered()
        .border_style(theme::border())
        .title(Line::styled(
            format!(" Alerts ({}) ", app.alerts.len()),
            theme::key(),
        ))
        .title_bottom(Line::styled(" esc close ", theme::dim()));
    let inner = block.inner(popup);
    Clear.render(popup, buf);
    block.render(popup, buf);
    for (y, line) in (inner.y..inner.bottom()).zip(&lines) {
        buf.set_line(inner.x, y, line, inner.width);
    }
}

/// The banner above the log while an alert is firing: the newest one still firing, whole.
pub(super) fn banner(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(alert) = app.firing_alert() else {
        return;
    };
    if area.height == 0 {
        return;
    }
    let style = style(AlertState::Firing).add_modifier(ratatui::style::Modifier::REVERSED);
    let text = format!(" ALERT firing: {} · A lists alerts ", alert.line());
    buf.set_style(area, style);
    buf.set_stringn(area.x, area.y, text, usize::from(area.width), style);
}

fn line(app: &App, alert: &Alert) -> Line<'static> {
    let mut time = String::new();
    crate::format::write_time(&mut time, &alert.at, app.time, app.wall);
    Line::from(vec![
        Span::styled(format!("{time} "), theme::dim()),
        Span::styled(alert.line(), style(alert.state)),
    ])
}

/// Firing reads as an error, resolved as a quiet info.
pub(super) fn style(state: AlertState) -> ratatui::style::Style {
    match state {
        AlertState::Firing => theme::level(Level::Error),
        AlertState::Resolved => theme::dim(),
    }
}
