//! The search line: the pattern (being typed, or in force), and either its error or the match count.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};

use super::{spans_width, theme};
use crate::tui::app::App;
use crate::tui::keymap::Mode;
use crate::tui::text::{display, thousands};

pub(super) fn render(app: &App, area: Rect, frame: &mut Frame) {
    if area.is_empty() {
        return;
    }
    let editing = app.mode == Mode::Search;
    let search = &app.search;
    let info: Vec<Span<'static>> = match (&search.error, &search.regex) {
        (Some(error), last) => {
            let keeping = last.as_ref().map_or(String::new(), |r| {
                format!(" (still using /{}/)", display(r.as_str()))
            });
            vec![Span::styled(
                format!("  ✗ {}{keeping}", display(error)),
                theme::bad(),
            )]
        }
        (None, Some(_)) if !search.counted => {
            dim_phrases(&["  enter confirms and counts matches", " · esc clears"])
        }
        (None, Some(_)) => {
            let count = match search.matches {
                1 => "  1 match".to_owned(),
                n => format!("  {} matches", thousands(n as u64)),
            };
            let only: &[&str] = if search.only_matches {
                &[" · only matches (f)"]
            } else {
                &[]
            };
            let hints: &[&str] = if editing {
                &[" · enter confirms", " · esc clears"]
            } else {
                &[" · n/N next/prev"]
            };
            let mut spans = vec![Span::styled(count, theme::key())];
            spans.extend(dim_phrases(only));
            spans.extend(dim_phrases(hints));
            spans
        }
        // "Only matches" outlives retyping the pattern, so say so while there is none.
        (None, None) if search.only_matches => {
            dim_phrases(&["  type a regex", " · only matches (f)", " · esc cancels"])
        }
        (None, None) => dim_phrases(&["  type a regex", " · enter confirms", " · esc cancels"]),
    };
    // The pattern gets at least half the line; the info gives way, whole phrases first.
    let info = whole_phrases(info, usize::from(area.width) / 2);
    let info_width = spans_width(&info).min(usize::from(area.width) / 2) as u16;
    let input_width = area.width - info_width;
    let input = &search.input;
    let scroll = input.visual_scroll(usize::from(input_width.saturating_sub(2)));
    let shown: String = display(input.value()).chars().collect();
    let visible = skip_columns(&shown, scroll);
    let prompt_style = if editing { theme::key() } else { theme::dim() };
    let line = Line::from(vec![Span::styled("/", prompt_style), Span::raw(visible)]);
    frame
        .buffer_mut()
        .set_line(area.x, area.y, &line, input_width);
    frame
        .buffer_mut()
        .set_line(area.x + input_width, area.y, &Line::from(info), info_width);
    if editing {
        let cursor = input.visual_cursor().saturating_sub(scroll) as u16 + 1;
        frame.set_cursor_position(Position::new(
            area.x + cursor.min(input_width.saturating_sub(1)),
            area.y,
        ));
    }
}

/// `text` without its first `columns` display columns.
fn skip_columns(text: &str, columns: usize) -> String {
    let mut skipped = 0;
    let mut out = String::new();
    for c in text.chars() {
        if skipped < columns {
            skipped += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        } else {
            out.push(c);
        }
    }
    out
}

/// Hint phrases, each its own span so a narrow line drops whole ones.
fn dim_phrases(phrases: &[&'static str]) -> Vec<Span<'static>> {
    phrases
        .iter()
        .map(|phrase| Span::styled(*phrase, theme::dim()))
        .collect()
}

/// The leading spans that fit in `width` columns; the first is kept (and cut) even when it alone
/// does not fit, so a count or an error always shows.
fn whole_phrases(spans: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
    let mut used = 0;
    let mut kept = Vec::with_capacity(spans.len());
    for span in spans {
        used += span.width();
        if used > width && !kept.is_empty() {
            break;
        }
        kept.push(span);
    }
    kept
}
