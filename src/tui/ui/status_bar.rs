//! The status bar: connection state, counts, rate, gaps, buffer use, active filters, and the paused
//! banner. On a narrow terminal the least important parts drop out first; the banner and the
//! connection state never do.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{spans_width, theme};
use crate::client::ConnState;
use crate::model::Level;
use crate::tui::app::{App, Dim};
use crate::tui::text::{compact, display, thousands};

/// How much of the latest alert's line the bar shows; `A` shows all of it.
const ALERT_CHARS: usize = 60;

/// A part of the bar and how readily it is dropped (higher goes first).
struct Part {
    drop_order: u8,
    spans: Vec<Span<'static>>,
}

fn part(drop_order: u8, spans: Vec<Span<'static>>) -> Part {
    Part { drop_order, spans }
}

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.is_empty() {
        return;
    }
    buf.set_style(area, theme::bar());
    let mut parts = parts(app);
    let width = usize::from(area.width);
    let total = |parts: &[Part]| {
        parts.iter().map(|p| spans_width(&p.spans)).sum::<usize>()
            + 3 * parts.len().saturating_sub(1)
    };
    while total(&parts) > width && parts.len() > 1 {
        let Some((at, _)) = parts
            .iter()
            .enumerate()
            .max_by_key(|(i, p)| (p.drop_order, *i))
        else {
            break;
        };
        parts.remove(at);
    }
    let mut spans = Vec::new();
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" │ ", theme::dim()));
        }
        spans.extend(p.spans);
    }
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

fn parts(app: &App) -> Vec<Part> {
    let mut parts = Vec::new();
    if app.view.paused {
        let errors = match app.view.new_errors {
            0 => String::new(),
            1 => " (1 error)".to_owned(),
            n => format!(" ({} errors)", thousands(n)),
        };
        parts.push(part(
            0,
            vec![Span::styled(
                format!(" PAUSED +{} new{errors} ", thousands(app.view.new)),
                theme::paused(),
            )],
        ));
    } else if !app.view.follow {
        let text = match app.view.new {
            0 => "scrolled · G follows".to_owned(),
            n => format!("+{} new below · G follows", thousands(n)),
        };
        parts.push(part(1, vec![Span::styled(text, theme::warn())]));
    }
    let (state, target, reason) = connection(app);
    parts.push(part(0, vec![state]));
    if let Some(notice) = &app.notice {
        parts.push(part(
            1,
            vec![Span::styled(display(&notice.text), theme::warn())],
        ));
    }
    // The latest alert stays until the next one: a firing alert must not vanish like a notice.
    // Cut short, so that the bar keeps room for the connection state.
    if let Some(alert) = app.alerts.back() {
        let line = alert.line();
        let mut text: String = line.chars().take(ALERT_CHARS).collect();
        if text.len() < line.len() {
            text.push('…');
        }
        parts.push(part(
            1,
            vec![Span::styled(
                format!("alert {text} · A lists"),
                super::alerts::style(alert.state),
            )],
        ));
    }
    if let Some(redis) = &app.redis {
        parts.push(redis_part(redis));
    }
    if let Some(reason) = reason {
        parts.push(part(2, vec![Span::styled(reason, theme::dim())]));
    }
    parts.push(part(
        3,
        vec![Span::raw(format!(
            "recv {} shown {}",
            compact(app.stats.received),
            compact(app.shown_entries() as u64)
        ))],
    ));
    // The rate appears once: in the header's second line when the screen has one.
    if crate::tui::layout::areas(app.area(), false, false)
        .header
        .height
        < 2
    {
        parts.push(part(
            4,
            vec![Span::raw(format!("{}/s", compact(app.rate())))],
        ));
    }
    if app.stats.gaps > 0 {
        parts.push(part(
            2,
            vec![Span::styled(
                // Say how many were missed only when it is known, and as the gap rows say it: an
                // upper bound when the server filters or a restart gap counted (see
                // `Gap::describe`).
                match (
                    app.stats.missed,
                    app.server_filtered || app.stats.missed_at_most,
                ) {
                    (0, _) => format!("gaps {}", app.stats.gaps),
                    (n, false) => format!("gaps {} ({} missed)", app.stats.gaps, thousands(n)),
                    (n, true) => format!("gaps {} (up to {} missed)", app.stats.gaps, thousands(n)),
                },
                theme::warn(),
            )],
        ));
    } else {
        parts.push(part(7, vec![Span::raw("gaps 0")]));
    }
    let used = app.buffer.len() * 100 / app.buffer.capacity().max(1);
    parts.push(part(5, vec![Span::raw(format!("buf {used}%"))]));
    let filters = filters(app);
    if !filters.is_empty() {
        // Kept nearly as long as the state: "shown 0" with its reason gone would be a mystery.
        parts.push(part(
            1,
            vec![Span::styled(format!("filters: {filters}"), theme::key())],
        ));
    }
    // What `/` matches against (`m` toggles it), whenever a search is being typed or in force.
    if app.search.regex.is_some() || app.mode == crate::tui::keymap::Mode::Search {
        parts.push(part(
            3,
            vec![Span::styled(
                format!("search: {}", app.search.scope.label()),
                theme::key(),
            )],
        ));
    }
    if let Some(target) = target {
        parts.push(part(6, vec![Span::styled(target, theme::dim())]));
    }
    parts.push(part(8, vec![Span::styled("? help", theme::dim())]));
    parts
}

/// The state (always shown), the target, and a reason for trouble.
fn connection(app: &App) -> (Span<'static>, Option<String>, Option<String>) {
    let loading = if app.live { "" } else { ", loading history" };
    if let Some(summary) = app.servers.summary() {
        return servers(&summary, loading);
    }
    match &app.conn {
        ConnState::Connecting { target, attempt } => {
            let attempt = if *attempt > 1 {
                format!(" (attempt {attempt})")
            } else {
                String::new()
            };
            (
                Span::styled(format!("◌ connecting{attempt}"), theme::warn()),
                Some(display(target)),
                None,
            )
        }
        ConnState::Connected { target, server } => {
            let verb = if matches!(server.as_str(), "file" | "stdin") {
                "reading"
            } else {
                "connected"
            };
            (
                Span::styled(format!("● {verb}{loading}"), theme::good()),
                Some(display(target)),
                None,
            )
        }
        ConnState::Reconnecting {
            target,
            retry_at,
            reason,
        } => {
            let secs = retry_at
                .saturating_duration_since(app.now)
                .as_secs_f64()
                .ceil() as u64;
            (
                Span::styled(format!("◌ reconnecting in {secs}s"), theme::warn()),
                Some(display(target)),
                Some(display(reason)),
            )
        }
        ConnState::Disconnected { reason } => (
            Span::styled(format!("○ disconnected: {}", display(reason)), theme::bad()),
            None,
            None,
        ),
    }
}

/// Several servers: how many are connected, and which are not (with the first one's reason).
fn servers(
    summary: &crate::tui::app::servers::Summary,
    loading: &str,
) -> (Span<'static>, Option<String>, Option<String>) {
    let (up, total) = (summary.up, summary.total);
    if summary.down.is_empty() {
        return (
            Span::styled(
                format!("● {total} servers connected{loading}"),
                theme::good(),
            ),
            None,
            None,
        );
    }
    // host:port is what tells servers apart; the whole stream URL would crowd the bar.
    let names: Vec<String> = summary
        .down
        .iter()
        .map(|(target, _)| {
            url::Url::parse(target)
                .ok()
                .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
                .map_or_else(|| display(target), |short| display(&short))
        })
        .collect();
    let state = Span::styled(
        format!("◐ {up}/{total} servers, down: {}", names.join(", ")),
        if up == 0 { theme::bad() } else { theme::warn() },
    );
    let reason = summary
        .down
        .iter()
        .find_map(|(_, reason)| reason.as_deref())
        .map(display);
    (state, None, reason)
}

/// The connected instance's publishing to Redis: kept long when it is in trouble.
fn redis_part(redis: &crate::wire::RedisState) -> Part {
    let mut text = format!("redis {}", display(&redis.state));
    if redis.buffered > 0 {
        text.push_str(&format!(" · {} buffered", thousands(redis.buffered)));
    }
    if redis.overflow > 0 {
        text.push_str(&format!(" · {} dropped", thousands(redis.overflow)));
    }
    match redis.state.as_str() {
        "up" if redis.overflow == 0 => part(5, vec![Span::styled(text, theme::dim())]),
        "down" => part(1, vec![Span::styled(text, theme::bad())]),
        _ => part(2, vec![Span::styled(text, theme::warn())]),
    }
}

/// The filters in force, briefly.
fn filters(app: &App) -> String {
    let mut out: Vec<String> = Vec::new();
    let hidden: Vec<&str> = Level::ALL
        .into_iter()
        .filter(|l| !app.filter.levels[l.index()])
        .map(Level::as_str)
        .collect();
    if !hidden.is_empty() {
        out.push(format!("-{}", hidden.join(",")));
    }
    for dim in Dim::ALL {
        let set = app.names.get(dim);
        let name = dim.title().to_lowercase();
        // The command line's rule (`--source 'api*'`) says what is kept even before a name is hidden.
        let rule = set.rule_label().map(|rule| format!(" {}", display(&rule)));
        let shown =
            (set.hidden() > 0).then(|| format!(" {}/{}", set.len() - set.hidden(), set.len()));
        if rule.is_some() || shown.is_some() {
            let (rule, shown) = (rule.unwrap_or_default(), shown.unwrap_or_default());
            out.push(format!("{name}{rule}{shown}"));
        }
    }
    if let Some(regex) = app.search.filtering() {
        out.push(format!("/{}/", display(regex.as_str())));
    }
    if let Some(request) = &app.filter.request {
        let value = match &request.value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.push(format!("{}={}", request.key, display(&value)));
    }
    out.extend(app.fixed_labels.iter().map(|l| display(l)));
    out.join(" ")
}
