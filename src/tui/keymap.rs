//! Keys to actions: a pure function of the mode and the key, driven by one table that also writes the
//! help overlay, so the help can never disagree with what the keys do.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};
use tui_input::InputRequest;
use tui_input::backend::crossterm::to_input_request;

use crate::model::Level;

/// What the keyboard is talking to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The log view.
    Normal,
    /// Typing a search pattern.
    Search,
    /// The source/instance/region picker, moving through the list.
    Picker,
    /// The picker, typing text that narrows the list.
    PickerNarrow,
    /// The detail of one entry.
    Detail,
    /// The help overlay.
    Help,
    /// The list of meta fields to show as columns.
    Fields,
    /// The list of alerts received.
    Alerts,
}

/// Everything a key or the mouse can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Nothing,
    Quit,
    OpenHelp,
    /// Show the alerts received from the server.
    OpenAlerts,
    /// Leave an overlay or mode for the log view.
    Close,
    TogglePause,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    /// Jump to the newest entry and follow again.
    Follow,
    /// Mouse wheel: positive is down.
    Scroll(i8),
    ToggleLevel(Level),
    OpenPicker,
    StartSearch,
    SearchEdit(InputRequest),
    ConfirmSearch,
    CancelSearch,
    NextMatch,
    PrevMatch,
    ToggleOnlyMatches,
    /// Search the message only, or the message and `meta` values.
    ToggleSearchScope,
    OpenDetail,
    /// In the detail: show the next (positive: newer) or previous entry of the view.
    DetailStep(i8),
    Copy,
    CycleTime,
    ToggleWrap,
    FilterRequest,
    /// Write the view's entries to an NDJSON file.
    Export,
    ClearBuffer,
    PickerToggle,
    PickerAll,
    PickerNextDim,
    PickerPrevDim,
    /// Start narrowing with this character already typed.
    PickerType(char),
    PickerStartNarrow,
    PickerNarrowEdit(InputRequest),
    PickerCancelNarrow,
    /// Open the list of meta fields to show as columns.
    OpenFields,
    /// Show the highlighted field as a column, or stop.
    FieldToggle,
    /// Field columns before the message, or after it.
    FieldPlacement,
}

/// A key as the table writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Char(char),
    Ctrl(char),
    Code(KeyCode),
}

impl Key {
    fn matches(self, key: &KeyEvent) -> bool {
        let plain = (key.modifiers - KeyModifiers::SHIFT).is_empty();
        match self {
            Key::Char(c) => plain && key.code == KeyCode::Char(c),
            Key::Ctrl(c) => key.modifiers == KeyModifiers::CONTROL && key.code == KeyCode::Char(c),
            Key::Code(code) => plain && key.code == code,
        }
    }

    /// How the help overlay writes the key.
    pub(crate) fn label(self) -> String {
        match self {
            Key::Char(' ') => "space".into(),
            Key::Char(c) => c.to_string(),
            Key::Ctrl(c) => format!("ctrl-{c}"),
            Key::Code(code) => match code {
                KeyCode::Up => "↑".into(),
                KeyCode::Down => "↓".into(),
                KeyCode::Left => "←".into(),
                KeyCode::Right => "→".into(),
                KeyCode::PageUp => "pgup".into(),
                KeyCode::PageDown => "pgdn".into(),
                KeyCode::Home => "home".into(),
                KeyCode::End => "end".into(),
                KeyCode::Enter => "enter".into(),
                KeyCode::Esc => "esc".into(),
                KeyCode::Tab => "tab".into(),
                KeyCode::BackTab => "shift-tab".into(),
                other => other.to_string().to_lowercase(),
            },
        }
    }
}

/// One line of the keymap: in these modes, these keys do this.
#[derive(Debug)]
pub(crate) struct Binding {
    pub(crate) modes: &'static [Mode],
    pub(crate) keys: &'static [Key],
    pub(crate) action: Action,
    pub(crate) help: &'static str,
}

use Key::{Char, Code, Ctrl};
use KeyCode::{BackTab, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right, Tab, Up};
use Mode::{Alerts, Detail, Fields, Help, Normal, Picker, PickerNarrow, Search};

const fn bind(
    modes: &'static [Mode],
    keys: &'static [Key],
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        modes,
        keys,
        action,
        help,
    }
}

const OVERLAYS: &[Mode] = &[Detail, Help];

/// The keymap, in the order the help lists it. One binding a line: it reads as a table.
#[rustfmt::skip]
pub(crate) const BINDINGS: &[Binding] = &[
    bind(&[Normal], &[Char(' ')], Action::TogglePause, "pause / resume (resuming jumps to live)"),
    bind(&[Normal], &[Code(Up), Char('k')], Action::Up, "scroll up (stops following)"),
    bind(&[Normal], &[Code(Down), Char('j')], Action::Down, "scroll down (past the end follows again)"),
    bind(&[Normal], &[Code(PageUp), Ctrl('b')], Action::PageUp, "page up"),
    bind(&[Normal], &[Code(PageDown), Ctrl('f')], Action::PageDown, "page down"),
    bind(&[Normal], &[Code(Home), Char('g')], Action::Top, "go to the oldest entry"),
    bind(&[Normal], &[Code(End), Char('G')], Action::Follow, "go to the newest entry and follow"),
    bind(OVERLAYS, &[Code(Up), Char('k')], Action::Up, "scroll up"),
    bind(OVERLAYS, &[Code(Down), Char('j')], Action::Down, "scroll down"),
    bind(OVERLAYS, &[Code(PageUp), Ctrl('b')], Action::PageUp, "page up"),
    bind(OVERLAYS, &[Code(PageDown), Ctrl('f')], Action::PageDown, "page down"),
    bind(OVERLAYS, &[Code(Home), Char('g')], Action::Top, "to the top"),
    bind(OVERLAYS, &[Code(End), Char('G')], Action::Follow, "to the bottom"),
    bind(&[Normal], &[Char('1')], Action::ToggleLevel(Level::Trace), "show / hide trace"),
    bind(&[Normal], &[Char('2')], Action::ToggleLevel(Level::Debug), "show / hide debug"),
    bind(&[Normal], &[Char('3')], Action::ToggleLevel(Level::Info), "show / hide info"),
    bind(&[Normal], &[Char('4')], Action::ToggleLevel(Level::Warn), "show / hide warn"),
    bind(&[Normal], &[Char('5')], Action::ToggleLevel(Level::Error), "show / hide error"),
    bind(&[Normal], &[Char('6')], Action::ToggleLevel(Level::Fatal), "show / hide fatal"),
    bind(&[Normal], &[Char('s')], Action::OpenPicker, "pick sources, instances and regions"),
    bind(&[Normal], &[Char('/')], Action::StartSearch, "search (regex)"),
    bind(&[Normal], &[Char('m')], Action::ToggleSearchScope, "search: message only / message + fields"),
    bind(&[Normal], &[Char('n')], Action::NextMatch, "next match (newer)"),
    bind(&[Normal], &[Char('N')], Action::PrevMatch, "previous match (older)"),
    bind(&[Normal], &[Char('f')], Action::ToggleOnlyMatches, "show only matching entries / all"),
    bind(&[Normal], &[Code(Esc)], Action::CancelSearch, "clear the search"),
    bind(&[Normal], &[Code(Enter)], Action::OpenDetail, "open the selected entry"),
    bind(&[Normal, Detail], &[Char('y')], Action::Copy, "copy the entry as JSON (OSC 52)"),
    bind(&[Normal], &[Char('r')], Action::FilterRequest, "only this entry's requestId / all"),
    bind(&[Detail], &[Code(Right), Char('l')], Action::DetailStep(1), "next entry (newer)"),
    bind(&[Detail], &[Code(Left), Char('h')], Action::DetailStep(-1), "previous entry (older)"),
    bind(&[Detail], &[Char('r')], Action::FilterRequest, "close and show only this entry's requestId / all"),
    bind(&[Normal], &[Char('v')], Action::OpenFields, "choose meta fields to show as columns"),
    bind(&[Normal], &[Char('t')], Action::CycleTime, "time: UTC / local / relative"),
    bind(&[Normal], &[Char('w')], Action::ToggleWrap, "wrap long lines on / off"),
    bind(&[Normal], &[Char('e')], Action::Export, "export the entries shown to an NDJSON file"),
    bind(&[Normal], &[Char('c')], Action::ClearBuffer, "clear the buffer"),
    bind(&[Normal], &[Char('A')], Action::OpenAlerts, "the alerts received from the server"),
    bind(&[Normal], &[Char('?')], Action::OpenHelp, "this help"),
    bind(&[Normal], &[Char('q'), Ctrl('c')], Action::Quit, "quit"),
    bind(&[Search], &[Code(Enter)], Action::ConfirmSearch, "confirm (a scrolled view jumps to the nearest match)"),
    bind(&[Search], &[Code(Esc)], Action::CancelSearch, "clear the search"),
    bind(&[Search], &[Code(Tab)], Action::ToggleSearchScope, "search: message only / message + fields"),
    bind(&[Picker, PickerNarrow], &[Code(Up)], Action::Up, "move up"),
    bind(&[Picker, PickerNarrow], &[Code(Down)], Action::Down, "move down"),
    bind(&[Picker, PickerNarrow], &[Char(' ')], Action::PickerToggle, "show / hide the highlighted one"),
    bind(&[Picker, PickerNarrow], &[Ctrl('a')], Action::PickerAll, "all / none (of those listed)"),
    bind(&[Picker, PickerNarrow], &[Code(Tab)], Action::PickerNextDim, "next list: sources, instances, regions"),
    bind(&[Picker, PickerNarrow], &[Code(BackTab)], Action::PickerPrevDim, "previous list"),
    // Every letter narrows: names are typed here, so no letter may do anything else (a source
    // named `scheduler` must not close the picker on `s` and clear the buffer on `c`).
    bind(&[Picker], &[Char('/')], Action::PickerStartNarrow, "type to narrow (any letter starts too)"),
    bind(&[PickerNarrow], &[Code(Esc)], Action::PickerCancelNarrow, "clear the typed text (when some is typed)"),
    bind(&[Picker, PickerNarrow], &[Code(Enter)], Action::Close, "close, keeping the choices"),
    bind(&[Picker], &[Code(Esc)], Action::Close, "close (with nothing typed)"),
    bind(&[Fields], &[Code(Up), Char('k')], Action::Up, "move up"),
    bind(&[Fields], &[Code(Down), Char('j')], Action::Down, "move down"),
    bind(&[Fields], &[Char(' ')], Action::FieldToggle, "show / hide the highlighted field as a column"),
    bind(&[Fields], &[Char('b')], Action::FieldPlacement, "columns before / after the message"),
    bind(&[Fields], &[Code(Enter), Code(Esc), Char('v'), Char('q')], Action::Close, "close, keeping the choices"),
    bind(&[Detail], &[Code(Enter), Code(Esc), Char('q')], Action::Close, "close"),
    bind(&[Help], &[Code(Esc), Char('?'), Char('q')], Action::Close, "close"),
    bind(&[Alerts], &[Code(Esc), Char('A'), Char('q')], Action::Close, "close"),
];

/// The action for a key in a mode. Ctrl-C quits from anywhere; keys the table does not bind are text
/// in the modes that take text.
pub(crate) fn action(mode: Mode, key: KeyEvent) -> Action {
    if key.kind == KeyEventKind::Release {
        return Action::Nothing;
    }
    if Ctrl('c').matches(&key) {
        return Action::Quit;
    }
    if let Some(binding) = BINDINGS
        .iter()
        .find(|b| b.modes.contains(&mode) && b.keys.iter().any(|k| k.matches(&key)))
    {
        return binding.action;
    }
    let text = || to_input_request(&Event::Key(key));
    match mode {
        Search => text().map_or(Action::Nothing, Action::SearchEdit),
        PickerNarrow => text().map_or(Action::Nothing, Action::PickerNarrowEdit),
        Picker => match text() {
            Some(InputRequest::InsertChar(c)) => Action::PickerType(c),
            _ => Action::Nothing,
        },
        Normal | Detail | Help | Fields | Alerts => Action::Nothing,
    }
}

/// Lines the mouse wheel moves.
const WHEEL_LINES: i8 = 3;

/// The action for a mouse event: the wheel scrolls whatever is open.
pub(crate) fn mouse_action(mode: Mode, event: MouseEvent) -> Action {
    let scrolls = matches!(mode, Normal | Detail | Help);
    match event.kind {
        MouseEventKind::ScrollUp if scrolls => Action::Scroll(-WHEEL_LINES),
        MouseEventKind::ScrollDown if scrolls => Action::Scroll(WHEEL_LINES),
        MouseEventKind::ScrollUp if mode != Search => Action::Up,
        MouseEventKind::ScrollDown if mode != Search => Action::Down,
        _ => Action::Nothing,
    }
}

/// What the wheel does in a help section's modes (see [`mouse_action`]).
fn wheel_help(modes: &[Mode]) -> Option<&'static str> {
    match modes.first()? {
        Normal | Detail | Help => Some("scroll three rows"),
        Picker | PickerNarrow | Fields => Some("move up / down"),
        Search | Alerts => None,
    }
}

/// A section of the help overlay: a title and `(keys, what they do)` lines.
pub(crate) fn help_sections() -> Vec<(&'static str, Vec<(String, &'static str)>)> {
    let sections: [(&str, &[Mode]); 7] = [
        ("Log view", &[Normal]),
        ("Search (after /)", &[Search]),
        ("Picker (after s)", &[Picker, PickerNarrow]),
        ("Entry detail (after enter)", &[Detail]),
        ("Field columns (after v)", &[Fields]),
        ("Alerts (after A)", &[Alerts]),
        ("This help", &[Help]),
    ];
    sections
        .into_iter()
        .map(|(title, modes)| {
            let mut lines: Vec<(String, &'static str)> = Vec::new();
            for binding in BINDINGS
                .iter()
                .filter(|b| b.modes.iter().any(|m| modes.contains(m)))
            {
                let keys: Vec<String> = binding.keys.iter().map(|k| k.label()).collect();
                // Several bindings can say the same thing (a key per sub-mode): one line each.
                match lines.iter_mut().find(|(_, help)| *help == binding.help) {
                    Some((listed, _)) => {
                        for key in keys {
                            if !listed.split(' ').any(|k| k == key) {
                                listed.push(' ');
                                listed.push_str(&key);
                            }
                        }
                    }
                    None => lines.push((keys.join(" "), binding.help)),
                }
            }
            if modes.contains(&Search) {
                lines.push((
                    "(typing)".into(),
                    "edit the pattern; matches highlight as you type",
                ));
            }
            // The wheel is not a key, so the table above cannot list it; `mouse_action` decides.
            if let Some(wheel) = wheel_help(modes) {
                lines.push(("mouse wheel".into(), wheel));
            }
            (title, lines)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ch(c: char) -> KeyEvent {
        let modifiers = if c.is_ascii_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        KeyEvent::new(KeyCode::Char(c), modifiers)
    }

    #[test]
    fn normal_mode_keys() {
        let cases = [
            (ch(' '), Action::TogglePause),
            (ch('k'), Action::Up),
            (key(KeyCode::Down), Action::Down),
            (ch('G'), Action::Follow),
            (key(KeyCode::End), Action::Follow),
            (ch('g'), Action::Top),
            (ch('5'), Action::ToggleLevel(Level::Error)),
            (ch('N'), Action::PrevMatch),
            (ch('q'), Action::Quit),
            (ch('x'), Action::Nothing),
            (
                KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
                Action::Quit,
            ),
        ];
        for (event, want) in cases {
            assert_eq!(action(Mode::Normal, event), want, "{event:?}");
        }
    }

    #[test]
    fn text_modes_take_letters_that_normal_mode_binds() {
        assert_eq!(
            action(Mode::Search, ch('q')),
            Action::SearchEdit(InputRequest::InsertChar('q'))
        );
        assert_eq!(
            action(Mode::Search, ch(' ')),
            Action::SearchEdit(InputRequest::InsertChar(' '))
        );
        assert_eq!(
            action(Mode::Search, key(KeyCode::Enter)),
            Action::ConfirmSearch
        );
        assert_eq!(
            action(Mode::Search, key(KeyCode::Backspace)),
            Action::SearchEdit(InputRequest::DeletePrevChar)
        );
        // In the picker list, every letter starts narrowing (even those that are keys elsewhere)...
        for letter in ['a', 's', 'c', 'q', 'j', 'd'] {
            assert_eq!(action(Mode::Picker, ch(letter)), Action::PickerType(letter));
        }
        assert_eq!(action(Mode::Picker, key(KeyCode::Enter)), Action::Close);
        // ...and once narrowing, every letter is text.
        assert_eq!(
            action(Mode::PickerNarrow, ch('a')),
            Action::PickerNarrowEdit(InputRequest::InsertChar('a'))
        );
        assert_eq!(action(Mode::PickerNarrow, ch(' ')), Action::PickerToggle);
        assert_eq!(
            action(Mode::PickerNarrow, key(KeyCode::Enter)),
            Action::Close
        );
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(Mode::Search, ctrl_c), Action::Quit);
    }

    #[test]
    fn releases_are_ignored_and_the_wheel_scrolls() {
        let mut release = ch('q');
        release.kind = KeyEventKind::Release;
        assert_eq!(action(Mode::Normal, release), Action::Nothing);
        let wheel = MouseEvent {
            kind: MouseEventKind::ScrollUp,
            column: 0,
            row: 0,
            modifiers: KeyModifiers::NONE,
        };
        assert_eq!(mouse_action(Mode::Normal, wheel), Action::Scroll(-3));
        assert_eq!(mouse_action(Mode::Picker, wheel), Action::Up);
    }

    #[test]
    fn the_help_lists_the_wheel_where_it_does_something() {
        let help = help_sections();
        let wheel = |title: &str| {
            let (_, lines) = help.iter().find(|(t, _)| t.starts_with(title)).unwrap();
            lines
                .iter()
                .find(|(keys, _)| keys == "mouse wheel")
                .map(|(_, what)| *what)
        };
        assert_eq!(wheel("Log view"), Some("scroll three rows"));
        assert_eq!(wheel("Picker"), Some("move up / down"));
        assert_eq!(wheel("Entry detail"), Some("scroll three rows"));
        assert_eq!(wheel("Search"), None);
    }

    #[test]
    fn the_user_guide_lists_every_binding() {
        let guide = include_str!("../../docs/tui.md");
        for binding in BINDINGS {
            let cell = format!(" | {} |", binding.help);
            assert!(guide.contains(&cell), "docs/tui.md has no row for{cell}");
        }
    }

    #[test]
    fn every_binding_is_reachable_and_in_the_help() {
        let help = help_sections();
        for binding in BINDINGS {
            for mode in binding.modes {
                // An earlier binding for the same key and mode would shadow this one.
                let first = BINDINGS
                    .iter()
                    .find(|b| {
                        b.modes.contains(mode) && b.keys.iter().any(|k| binding.keys.contains(k))
                    })
                    .unwrap();
                assert!(
                    std::ptr::eq(first, binding),
                    "{:?} shadowed in {mode:?}",
                    binding.keys
                );
            }
            assert!(
                help.iter()
                    .any(|(_, lines)| lines.iter().any(|(_, h)| *h == binding.help)),
                "{} missing from help",
                binding.help
            );
        }
    }
}
