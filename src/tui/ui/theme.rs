//! Colours and styles in one place. Only the 16 basic colours, so the terminal's own palette (light or
//! dark) decides how they look, and meaning never rests on colour alone: hidden levels are also struck
//! through, the selection is also reversed.

use ratatui::style::{Color, Modifier, Style};

use crate::model::Level;
use crate::tui::text::Class;

pub(crate) fn level(level: Level) -> Style {
    match level {
        Level::Trace => Style::new().fg(Color::DarkGray),
        Level::Debug => Style::new().fg(Color::Blue),
        Level::Info => Style::new().fg(Color::Green),
        Level::Warn => Style::new().fg(Color::Yellow),
        Level::Error => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        Level::Fatal => Style::new()
            .fg(Color::White)
            .bg(Color::Red)
            .add_modifier(Modifier::BOLD),
    }
}

pub(crate) fn class(class: Class) -> Style {
    match class {
        Class::Time | Class::Meta => Style::new().fg(Color::DarkGray),
        Class::Level(l) => level(l),
        Class::Origin => Style::new().fg(Color::Cyan),
        Class::Field => Style::new().fg(Color::Blue),
        Class::Message | Class::Plain => Style::new(),
        Class::Match => Style::new()
            .fg(Color::Black)
            .bg(Color::Yellow)
            .add_modifier(Modifier::BOLD),
        Class::Gap => Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
        Class::Label => Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
    }
}

pub(crate) fn selected() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

pub(crate) fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

pub(crate) fn hidden_level() -> Style {
    Style::new()
        .fg(Color::DarkGray)
        .add_modifier(Modifier::CROSSED_OUT)
}

pub(crate) fn key() -> Style {
    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}

pub(crate) fn bar() -> Style {
    Style::new().bg(Color::Black).fg(Color::White)
}

pub(crate) fn good() -> Style {
    Style::new().fg(Color::Green)
}

pub(crate) fn warn() -> Style {
    Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
}

pub(crate) fn bad() -> Style {
    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
}

pub(crate) fn paused() -> Style {
    Style::new()
        .fg(Color::Black)
        .bg(Color::Yellow)
        .add_modifier(Modifier::BOLD)
}

pub(crate) fn border() -> Style {
    Style::new().fg(Color::Cyan)
}
