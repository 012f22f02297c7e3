//! The header: level toggles with their counts, and the rate as a sparkline coloured by the worst level
//! in each second, so a burst of errors stands out before anyone reads a line.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Sparkline, SparklineBar, Widget};

use super::{spans_width, theme};
use crate::model::Level;
use crate::tui::app::App;
use crate::tui::text::{compact, thousands};

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.is_empty() {
        return;
    }
    let toggles = Rect { height: 1, ..area };
    buf.set_line(
        toggles.x,
        toggles.y,
        &level_line(app, usize::from(area.width)),
        area.width,
    );
    if area.height >= 2 {
        rate_line(app, Rect::new(area.x, area.y + 1, area.width, 1), buf);
    }
}

/// The six toggles, in the most detail that fits.
fn level_line(app: &App, width: usize) -> Line<'static> {
    // From most to least detail: full names and exact counts, down to key and initial only.
    for tier in 0..4 {
        let mut spans = Vec::new();
        for level in Level::ALL {
            let on = app.filter.levels[level.index()];
            let count = app.stats.levels[level.index()];
            let name = match tier {
                0 | 1 => level.as_str().to_owned(),
                _ => level.as_str()[..1].to_owned(),
            };
            let count = match tier {
                0 => format!(" {}", thousands(count)),
                1 | 2 => format!(" {}", compact(count)),
                _ => String::new(),
            };
            if !spans.is_empty() {
                spans.push(Span::raw(if tier == 0 { "  " } else { " " }));
            }
            spans.push(Span::styled(format!("{}", level.index() + 1), theme::key()));
            let style = if on {
                theme::level(level)
            } else {
                theme::hidden_level()
            };
            spans.push(Span::styled(
                format!("{}{name}", if tier < 2 { " " } else { "" }),
                style,
            ));
            spans.push(Span::styled(
                count,
                if on {
                    theme::class(crate::tui::text::Class::Plain)
                } else {
                    theme::dim()
                },
            ));
        }
        if spans_width(&spans) <= width || tier == 3 {
            return Line::from(spans);
        }
    }
    unreachable!("the last tier is always taken")
}

/// The last complete second's arrivals by level, worst first (`1 error  5 warn  30 info`), at the
/// left of the rate line, so the line says something before the sparkline has history to show.
fn level_rates(app: &App) -> Vec<Span<'static>> {
    let last = app.stats.rate.last();
    let mut spans = vec![Span::styled("per second: ", theme::dim())];
    let mut any = false;
    for level in Level::ALL.into_iter().rev() {
        let n = last[level.index()];
        if n > 0 {
            any = true;
            spans.push(Span::styled(
                format!("{} {}  ", thousands(u64::from(n)), level.as_str()),
                theme::level(level),
            ));
        }
    }
    if !any {
        spans.push(Span::styled("nothing", theme::dim()));
    }
    spans
}

/// Per-level rates on the left; the sparkline and the total rate on the right.
fn rate_line(app: &App, area: Rect, buf: &mut Buffer) {
    let rate = app.rate();
    let errors = app.error_rate();
    let mut spans = vec![Span::raw(format!(" {}/s", thousands(rate)))];
    if errors > 0 {
        spans.push(Span::styled(
            format!(" {} err/s", thousands(errors)),
            theme::bad(),
        ));
    }
    let text_width = spans_width(&spans) as u16;
    // The per-level rates come first, when they fit beside the rate and a few bars.
    let levels = level_rates(app);
    let levels_width = spans_width(&levels) as u16;
    let left = if levels_width + text_width + 8 <= area.width {
        buf.set_line(area.x, area.y, &Line::from(levels), levels_width);
        levels_width
    } else {
        0
    };
    let bars_room = area.width.saturating_sub(text_width + left);
    let spark_x = area.x + left;
    let area = Rect {
        x: spark_x,
        width: bars_room + text_width,
        ..area
    };
    let spark_width = area.width.saturating_sub(text_width);
    let history: Vec<[u32; 6]> = app
        .stats
        .rate
        .history()
        .rev()
        .take(usize::from(spark_width))
        .collect();
    let bars = history.iter().rev().map(|levels| {
        let total: u64 = levels.iter().map(|&n| u64::from(n)).sum();
        let worst = Level::ALL
            .into_iter()
            .rev()
            .find(|l| *l >= Level::Warn && levels[l.index()] > 0);
        let style = match worst {
            Some(level) => theme::level(level),
            None => theme::good(),
        };
        SparklineBar::from(total).style(Some(style))
    });
    Sparkline::default().data(bars).render(
        Rect {
            width: spark_width,
            ..area
        },
        buf,
    );
    buf.set_line(area.x + spark_width, area.y, &Line::from(spans), text_width);
}
