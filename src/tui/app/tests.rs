//! State tests: what a user would notice, driven through keys and source events as the loop does.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use clap::Parser;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::cli::{Cli, Command};
use crate::wire::{Gap, GapReason};

pub(crate) fn wall() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 5, 18, 13, 38).unwrap()
}

/// An app as `vg tui <args>` starts it, on a terminal of `size`.
pub(crate) fn app_with(args: &[&str], size: (u16, u16), t0: Instant) -> App {
    let cli = Cli::try_parse_from([&["vg", "tui"], args].concat()).unwrap();
    let Command::Tui(args) = cli.command else {
        unreachable!()
    };
    let start = Start::from_args(&args, wall()).unwrap();
    App::new(
        start,
        "ws://127.0.0.1:7007/api/logs/stream",
        size,
        t0,
        wall(),
    )
}

fn app(args: &[&str]) -> App {
    let mut app = app_with(args, (100, 20), Instant::now());
    app.on_source(SourceEvent::Live, app.now);
    app
}

/// Entry `n`: a fixed time `n` seconds after the start, so screens are reproducible.
pub(crate) fn entry(n: i64, level: Level, source: &str, message: &str) -> LogEntry {
    let mut e = LogEntry::new(level, source, message);
    e.timestamp = wall() + chrono::Duration::seconds(n);
    e
}

fn push(app: &mut App, entries: Vec<LogEntry>) {
    let now = app.now;
    app.on_source(SourceEvent::Entries(entries), now);
}

/// `n` info entries from `api`, numbered from `from`.
fn infos(from: i64, n: i64) -> Vec<LogEntry> {
    (from..from + n)
        .map(|i| entry(i, Level::Info, "api", &format!("message {i}")))
        .collect()
}

/// Presses keys, then lets a frame pass (which settles deferred work), as the loop does.
pub(crate) fn press(app: &mut App, keys: &str) -> Vec<Effect> {
    let effects = keys
        .chars()
        .map(|c| {
            let modifiers = if c.is_ascii_uppercase() {
                KeyModifiers::SHIFT
            } else {
                KeyModifiers::NONE
            };
            app.handle_event(&Event::Key(KeyEvent::new(KeyCode::Char(c), modifiers)))
        })
        .collect();
    app.settle();
    effects
}

pub(crate) fn press_code(app: &mut App, code: KeyCode) -> Effect {
    let effect = app.handle_event(&Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    app.settle();
    effect
}

pub(crate) fn press_ctrl(app: &mut App, letter: char) {
    let key = KeyEvent::new(KeyCode::Char(letter), KeyModifiers::CONTROL);
    app.handle_event(&Event::Key(key));
    app.settle();
}

fn shown_messages(app: &App) -> Vec<String> {
    (0..app.buffer.shown_len())
        .filter_map(|p| app.buffer.get(app.buffer.shown_id(p)?))
        .map(|row| {
            row.entry()
                .map_or("<gap>".into(), |e| e.message().to_owned())
        })
        .collect()
}

fn screen_ids(app: &App) -> Vec<u64> {
    app.screen_lines().into_iter().map(|(id, _)| id).collect()
}

#[test]
fn pausing_freezes_the_screen_but_keeps_counting() {
    let mut app = app(&[]);
    push(&mut app, infos(0, 30));
    press(&mut app, " ");
    assert!(app.view.paused && !app.view.follow);
    let frozen = screen_ids(&app);
    let mut more = infos(30, 5);
    more.push(entry(35, Level::Error, "db", "boom"));
    more.push(entry(36, Level::Fatal, "db", "down"));
    push(&mut app, more);
    assert_eq!(
        screen_ids(&app),
        frozen,
        "the view must not move while paused"
    );
    assert_eq!((app.view.new, app.view.new_errors), (7, 2));
    assert_eq!(app.stats.received, 37);
    // Scrolling down past the last row goes on into what arrived, and `+N new` counts down.
    press(&mut app, "j");
    assert_eq!(app.selected_entry().unwrap().message, "message 30");
    assert_eq!((app.view.new, app.view.new_errors), (6, 2));
    press(&mut app, "jjjjj");
    assert_eq!(app.selected_entry().unwrap().message, "boom");
    assert_eq!((app.view.new, app.view.new_errors), (1, 1));
    assert_eq!(
        screen_ids(&app).last(),
        Some(&35),
        "the screen shows what it took in"
    );
    // Scrolling down to the end while paused stays paused.
    for _ in 0..40 {
        press(&mut app, "j");
    }
    assert!(app.view.paused);
    assert_eq!(app.selected_entry().unwrap().message, "down");
    assert_eq!(app.view.new, 0);
    press(&mut app, " ");
    assert!(app.view.follow && !app.view.paused);
    assert_eq!(app.selected_entry().unwrap().message, "down");
    assert_eq!(app.view.new, 0);
}

#[test]
fn new_entries_are_recounted_when_a_filter_changes() {
    let mut app = app(&[]);
    push(&mut app, infos(0, 30));
    press(&mut app, " ");
    let mut more = infos(30, 5);
    more.push(entry(35, Level::Error, "db", "boom"));
    more.push(entry(36, Level::Fatal, "db", "down"));
    push(&mut app, more);
    assert_eq!((app.view.new, app.view.new_errors), (7, 2));
    press(&mut app, "56");
    assert_eq!(
        (app.view.new, app.view.new_errors),
        (5, 0),
        "hidden levels are not new rows"
    );
    press(&mut app, "3");
    assert_eq!((app.view.new, app.view.new_errors), (0, 0));
}

#[test]
fn a_paused_screen_with_room_to_spare_still_does_not_move() {
    let mut app = app(&[]);
    push(&mut app, infos(0, 3));
    press(&mut app, " ");
    push(&mut app, infos(3, 2));
    assert_eq!(screen_ids(&app), [0, 1, 2]);
    // Only the user's own scrolling takes in what arrived, one row a key, still paused.
    press(&mut app, "j");
    assert_eq!(screen_ids(&app), [0, 1, 2, 3]);
    press(&mut app, "jj");
    assert_eq!(app.selected_entry().unwrap().message, "message 4");
    assert!(app.view.paused && app.view.new == 0);
    press(&mut app, " ");
    assert_eq!(screen_ids(&app), [0, 1, 2, 3, 4]);
}

#[test]
fn scrolling_up_stops_following_and_the_end_or_g_follows_again() {
    let mut app = app(&[]);
    push(&mut app, infos(0, 50));
    press(&mut app, "kk");
    assert!(!app.view.follow);
    assert_eq!(app.selected_entry().unwrap().message, "message 47");
    push(&mut app, infos(50, 3));
    assert_eq!(app.selected_entry().unwrap().message, "message 47");
    assert_eq!(app.view.new, 3);
    press(&mut app, "g");
    assert_eq!(app.selected_entry().unwrap().message, "message 0");
    assert_eq!(screen_ids(&app)[0], app.view.top);
    press(&mut app, "G");
    assert!(app.view.follow);
    assert_eq!(app.selected_entry().unwrap().message, "message 52");
    // Down from the newest row while scrolled resumes following.
    press(&mut app, "kjj");
    assert!(app.view.follow);
    // Page up moves a screenful, keeping the selection on screen.
    press_code(&mut app, KeyCode::PageUp);
    let ids = screen_ids(&app);
    assert!(ids.contains(&app.selected().unwrap()));
    assert_eq!(app.selected_entry().unwrap().message, "message 36");
}

#[test]
fn level_toggles_hide_and_show_and_counts_stay() {
    let mut app = app(&["--level", "debug"]);
    push(
        &mut app,
        vec![
            entry(0, Level::Trace, "api", "t"),
            entry(1, Level::Info, "api", "i"),
            entry(2, Level::Error, "api", "e"),
        ],
    );
    assert_eq!(shown_messages(&app), ["i", "e"]);
    press(&mut app, "3");
    assert_eq!(shown_messages(&app), ["e"]);
    press(&mut app, "1");
    assert_eq!(shown_messages(&app), ["t", "e"]);
    assert_eq!(app.stats.levels, [1, 0, 1, 0, 1, 0]);
    // New entries obey the toggles as they arrive.
    push(&mut app, vec![entry(3, Level::Info, "api", "i2")]);
    assert_eq!(shown_messages(&app), ["t", "e"]);
}

#[test]
fn the_picker_toggles_narrows_and_decides_for_new_sources() {
    let mut app = app(&[]);
    push(
        &mut app,
        ["worker", "api", "db", "api"]
            .iter()
            .enumerate()
            .map(|(i, s)| entry(i as i64, Level::Info, s, s))
            .collect(),
    );
    press(&mut app, "s");
    assert_eq!(app.mode, Mode::Picker);
    let labels = |app: &App| {
        let set = app.names.get(app.picker.dim);
        app.picker_listed()
            .into_iter()
            .map(|id| (set.label(id), set.count(id), set.is_on(id)))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        labels(&app),
        [
            ("api".into(), 2, true),
            ("db".into(), 1, true),
            ("worker".into(), 1, true)
        ]
    );
    press_code(&mut app, KeyCode::Down);
    press(&mut app, " ");
    assert_eq!(shown_messages(&app), ["worker", "api", "api"]);
    // Some are off: ctrl-a turns all on; again, all off, and sources seen later start off too.
    press_ctrl(&mut app, 'a');
    assert_eq!(shown_messages(&app).len(), 4);
    press_ctrl(&mut app, 'a');
    assert!(shown_messages(&app).is_empty());
    push(&mut app, vec![entry(9, Level::Info, "cron", "cron")]);
    assert!(shown_messages(&app).is_empty());
    // Any letter narrows, even ones that are keys elsewhere (`s` closes the picker in the log view,
    // `c` clears the buffer), and all/none then applies to what is listed.
    press(&mut app, "wor");
    assert_eq!(app.mode, Mode::PickerNarrow);
    assert_eq!(labels(&app), [("worker".into(), 1, false)]);
    press_ctrl(&mut app, 'a');
    assert_eq!(shown_messages(&app), ["worker"]);
    press_code(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Normal);
    press(&mut app, "s");
    press(&mut app, "sc");
    assert_eq!(app.mode, Mode::PickerNarrow);
    assert_eq!(
        app.buffer.len(),
        5,
        "typing in the picker cleared the buffer"
    );
    press_code(&mut app, KeyCode::Esc);
    press_code(&mut app, KeyCode::Esc);
    assert_eq!(app.mode, Mode::Normal);
    // Tab moves to instances: entries without one are listed as (none).
    press(&mut app, "s");
    app.apply(keymap::Action::PickerNextDim);
    assert_eq!(labels(&app), [("(none)".into(), 5, true)]);
}

#[test]
fn search_highlights_while_typing_reports_errors_and_navigates() {
    let mut app = app(&[]);
    let messages = ["alpha", "timeout 1", "beta", "timeout 2", "gamma"];
    push(
        &mut app,
        messages
            .iter()
            .enumerate()
            .map(|(i, m)| entry(i as i64, Level::Info, "api", m))
            .collect(),
    );
    press(&mut app, "/time(");
    assert_eq!(app.mode, Mode::Search);
    assert!(
        app.search
            .error
            .as_deref()
            .unwrap()
            .contains("unclosed group")
    );
    assert_eq!(app.search.regex.as_ref().unwrap().as_str(), "time");
    assert_eq!(app.search.matches, 2);
    press_code(&mut app, KeyCode::Backspace);
    press_code(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Normal);
    // A following view keeps following; N goes to older matches, n to newer, and they wrap around.
    assert!(app.view.follow);
    press(&mut app, "N");
    assert_eq!(app.selected_entry().unwrap().message, "timeout 2");
    press(&mut app, "N");
    assert_eq!(app.selected_entry().unwrap().message, "timeout 1");
    press(&mut app, "N");
    assert_eq!(app.selected_entry().unwrap().message, "timeout 2");
    assert!(notice(&app).unwrap().contains("wrapped"));
    // From a scrolled view, Enter goes to the nearest match at or above the selection.
    press(&mut app, "kk/");
    press_code(&mut app, KeyCode::Enter);
    assert_eq!(app.selected_entry().unwrap().message, "timeout 1");
    press(&mut app, "f");
    assert_eq!(shown_messages(&app), ["timeout 1", "timeout 2"]);
    push(
        &mut app,
        vec![
            entry(9, Level::Info, "api", "timeout 3"),
            entry(10, Level::Info, "api", "zeta"),
        ],
    );
    assert_eq!(
        shown_messages(&app),
        ["timeout 1", "timeout 2", "timeout 3"]
    );
    assert_eq!(app.search.matches, 3);
    press_code(&mut app, KeyCode::Esc);
    assert!(app.search.regex.is_none() && !app.search.only_matches);
    assert_eq!(shown_messages(&app).len(), 7);
}

#[test]
fn search_keystrokes_coalesce_into_one_pass_per_frame() {
    let mut app = app(&[]);
    push(
        &mut app,
        vec![
            entry(0, Level::Info, "api", "abc"),
            entry(1, Level::Info, "api", "xyz"),
        ],
    );
    press(&mut app, "/a");
    press_code(&mut app, KeyCode::Enter);
    press(&mut app, "f/");
    assert_eq!(shown_messages(&app), ["abc"]);
    for c in "|x".chars() {
        app.handle_event(&Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
    assert!(app.stale, "typing defers the pass");
    assert_eq!(shown_messages(&app), ["abc"]);
    app.settle();
    assert_eq!(shown_messages(&app), ["abc", "xyz"]);
    assert_eq!((app.search.matches, app.search.counted), (2, true));
}

#[test]
fn grep_on_the_command_line_starts_as_a_filtering_search() {
    let mut app = app(&["--grep", "^b"]);
    push(
        &mut app,
        vec![
            entry(0, Level::Info, "api", "a"),
            entry(1, Level::Info, "api", "b"),
        ],
    );
    assert_eq!(shown_messages(&app), ["b"]);
    // Counted as entries arrive: the search line shows the count, not "enter counts matches".
    assert_eq!((app.search.matches, app.search.counted), (1, true));
    press(&mut app, "f");
    assert_eq!(shown_messages(&app), ["a", "b"]);
}

#[test]
fn the_ring_evicts_oldest_and_keeps_index_counts_and_view_consistent() {
    let mut app = app(&["--buffer", "10"]);
    press(&mut app, "2/[05]$");
    press_code(&mut app, KeyCode::Enter);
    let levels = [Level::Info, Level::Debug, Level::Warn];
    let entries = (0..25)
        .map(|i| {
            entry(
                i,
                levels[i as usize % 3],
                ["api", "db"][i as usize % 2],
                &format!("m{i}"),
            )
        })
        .collect();
    push(&mut app, entries);
    assert_eq!(app.buffer.len(), 10);
    let incremental = shown_messages(&app);
    let matches = app.search.matches;
    app.refilter();
    assert_eq!(
        shown_messages(&app),
        incremental,
        "incremental index equals a rebuild"
    );
    assert_eq!(app.search.matches, matches);
    assert_eq!(
        incremental,
        ["m15", "m17", "m18", "m20", "m21", "m23", "m24"]
    );
    assert_eq!(matches, 2, "m15 and m20");
    assert_eq!(app.stats.levels.iter().sum::<u64>(), 10);
    let sources = app.names.get(Dim::Source);
    assert_eq!((0..2).map(|id| sources.count(id)).sum::<u64>(), 10);
    // A selection that is evicted moves to the oldest row still there.
    press(&mut app, "g");
    push(&mut app, infos(100, 3));
    assert_eq!(app.selected_entry().unwrap().message, "m18");
}

#[test]
fn request_filter_isolates_one_request_and_toggles_off() {
    let mut app = app(&[]);
    let mut entries = infos(0, 6);
    for (i, e) in entries.iter_mut().enumerate() {
        e.meta.insert("requestId", format!("req_{}", i % 2));
    }
    push(&mut app, entries);
    press(&mut app, "kr");
    assert_eq!(
        shown_messages(&app),
        ["message 0", "message 2", "message 4"]
    );
    assert_eq!(app.selected_entry().unwrap().message, "message 4");
    press(&mut app, "r");
    assert_eq!(shown_messages(&app).len(), 6);
    push(&mut app, vec![entry(9, Level::Info, "api", "no id")]);
    press(&mut app, "G");
    press(&mut app, "r");
    assert_eq!(notice(&app).unwrap(), "the selected entry has no requestId");
}

#[test]
fn gaps_are_rows_that_every_filter_keeps() {
    let mut app = app(&["--level", "fatal"]);
    push(&mut app, infos(0, 2));
    let now = app.now;
    app.on_source(
        SourceEvent::Gap(
            Gap {
                missed: 1234,
                from_seq: Some(3),
                to_seq: Some(1236),
                reason: GapReason::Lagged,
            }
            .into(),
        ),
        now,
    );
    assert_eq!(shown_messages(&app), ["<gap>"]);
    assert_eq!((app.stats.gaps, app.stats.missed), (1, 1234));
}

#[test]
fn detail_copy_clear_and_quit() {
    let mut app = app(&[]);
    push(&mut app, infos(0, 3));
    press_code(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Detail);
    assert_eq!(app.detail.as_ref().unwrap().entry.message, "message 2");
    let effects = press(&mut app, "y");
    let Effect::Copy(json) = &effects[0] else {
        panic!("{effects:?}")
    };
    assert_eq!(
        serde_json::from_str::<LogEntry>(json).unwrap().message,
        "message 2"
    );
    // The detail keeps its copy even if the row is cleared away.
    press_code(&mut app, KeyCode::Esc);
    press(&mut app, "c");
    assert_eq!((app.buffer.len(), app.stats.received), (0, 3));
    assert_eq!(app.stats.levels, [0; 6]);
    assert_eq!(press(&mut app, "q"), [Effect::Quit]);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    press(&mut app, "/");
    assert_eq!(app.handle_event(&Event::Key(ctrl_c)), Effect::Quit);
}

#[test]
fn a_file_backfill_is_cut_to_the_tail_then_the_full_buffer_applies() {
    let t0 = Instant::now();
    let mut app = app_with(
        &["--file", "x.log", "-n", "3", "--buffer", "100"],
        (100, 20),
        t0,
    );
    app.on_source(SourceEvent::Entries(infos(0, 10)), t0);
    assert_eq!(
        shown_messages(&app),
        ["message 7", "message 8", "message 9"]
    );
    assert_eq!(app.stats.rate.per_second(), 0, "history is not a burst");
    app.on_source(SourceEvent::Live, t0);
    app.on_source(
        SourceEvent::Entries(infos(10, 10)),
        t0 + Duration::from_millis(10),
    );
    assert_eq!(app.buffer.len(), 13);
    app.tick(t0 + Duration::from_secs(1), wall());
    assert_eq!(app.rate(), 10);
}

#[test]
fn connection_state_follows_the_source_and_notices_expire() {
    let t0 = Instant::now();
    let mut app = app_with(&[], (100, 20), t0);
    assert!(matches!(app.conn, ConnState::Connecting { attempt: 1, .. }));
    app.on_source(SourceEvent::Notice("server: slow down".into()), t0);
    app.on_source(
        SourceEvent::State(ConnState::Reconnecting {
            target: "ws://x".into(),
            retry_at: t0 + Duration::from_secs(3),
            reason: "connection refused".into(),
        }),
        t0,
    );
    assert!(matches!(app.conn, ConnState::Reconnecting { .. }));
    app.dirty = false;
    app.tick(t0 + Duration::from_millis(500), wall());
    assert!(!app.dirty, "nothing visible changed");
    app.tick(t0 + Duration::from_secs(7), wall());
    assert!(app.dirty && app.notice.is_none());
    app.source_closed();
    assert!(matches!(app.conn, ConnState::Disconnected { .. }));
}

#[test]
fn wrapping_keeps_the_selection_on_screen() {
    let mut app = app(&[]);
    let long = "x".repeat(500);
    push(
        &mut app,
        (0..20)
            .map(|i| entry(i, Level::Info, "api", &long))
            .collect(),
    );
    press(&mut app, "w");
    let lines = app.screen_lines();
    assert_eq!(lines.len(), app.log_height());
    assert!(lines.iter().all(|(_, l)| crate::tui::text::width(
        &l.iter().map(|s| s.text.as_str()).collect::<String>()
    ) <= 100));
    for _ in 0..5 {
        press(&mut app, "k");
        assert!(screen_ids(&app).contains(&app.selected().unwrap()));
    }
}

/// The notice the status bar shows, if any.
fn notice(app: &App) -> Option<&str> {
    app.notice.as_ref().map(|n| n.text.as_str())
}

#[test]
fn a_paused_view_whose_rows_were_evicted_shows_the_oldest_rows_still_held() {
    let mut app = app(&["--buffer", "20"]);
    push(&mut app, infos(0, 20));
    press(&mut app, " ");
    // Faster than the buffer can hold: every row on the paused screen is evicted.
    push(&mut app, infos(20, 50));
    let height = app.log_height() as u64;
    assert_eq!(
        screen_ids(&app),
        (50..50 + height).collect::<Vec<_>>(),
        "a full screen of the oldest rows still held, not an empty view"
    );
    assert!(app.view.paused);
    assert_eq!(app.selected_entry().unwrap().message, "message 50");
    assert!(
        notice(&app).unwrap().contains("dropped"),
        "{:?}",
        notice(&app)
    );
    // Later evictions keep it full; resuming still goes live.
    push(&mut app, infos(70, 5));
    assert_eq!(screen_ids(&app), (55..55 + height).collect::<Vec<_>>());
    press(&mut app, " ");
    assert_eq!(app.selected_entry().unwrap().message, "message 74");
    assert_eq!(
        notice(&app),
        None,
        "following again, nothing is being dropped"
    );
}

#[test]
fn enter_refuses_an_invalid_pattern_and_a_search_that_ends_takes_only_matches_with_it() {
    let mut app = app(&[]);
    push(
        &mut app,
        vec![
            entry(0, Level::Info, "api", "slow query"),
            entry(1, Level::Info, "api", "fast query"),
        ],
    );
    press(&mut app, "/slow");
    press_code(&mut app, KeyCode::Enter);
    press(&mut app, "f");
    assert_eq!(shown_messages(&app), ["slow query"]);
    press(&mut app, "/");
    press_ctrl(&mut app, 'u');
    press(&mut app, "(oops");
    press_code(&mut app, KeyCode::Enter);
    assert_eq!(
        app.mode,
        Mode::Search,
        "enter must not confirm a broken pattern"
    );
    assert!(app.search_line());
    assert!(
        app.search
            .error
            .as_deref()
            .unwrap()
            .contains("unclosed group")
    );
    assert_eq!(app.search.input.value(), "(oops");
    assert!(notice(&app).unwrap().contains("does not compile"));
    // Esc ends the search, and "only matches" with it.
    press_code(&mut app, KeyCode::Esc);
    press(&mut app, "/slow");
    press_code(&mut app, KeyCode::Enter);
    assert!(!app.search.only_matches);
    assert_eq!(shown_messages(&app).len(), 2);
    // So does enter on an emptied pattern: `f` then turns it on, not off.
    press(&mut app, "f/");
    press_ctrl(&mut app, 'u');
    press_code(&mut app, KeyCode::Enter);
    assert!(app.search.regex.is_none() && !app.search.only_matches);
    press(&mut app, "/fast");
    press_code(&mut app, KeyCode::Enter);
    assert_eq!(shown_messages(&app).len(), 2);
    press(&mut app, "f");
    assert_eq!(shown_messages(&app), ["fast query"]);
}

#[test]
fn the_next_action_replaces_a_notice_that_answered_a_key() {
    let mut app = app(&[]);
    let mut entries = infos(0, 2);
    entries[0].meta.insert("requestId", "req_1");
    push(&mut app, entries);
    press(&mut app, "r");
    assert_eq!(notice(&app), Some("the selected entry has no requestId"));
    press(&mut app, "kr");
    assert_eq!(shown_messages(&app), ["message 0"]);
    assert_eq!(notice(&app), None, "the answer to the previous r is stale");
    // News from the source is not an answer to a key: it stays its time.
    let now = app.now;
    app.on_source(SourceEvent::Notice("server: slow down".into()), now);
    press(&mut app, "r");
    assert_eq!(notice(&app), Some("server: slow down"));
}

#[test]
fn esc_after_a_pivot_returns_to_where_the_view_was() {
    // Live: `r` on the newest entry, then Esc follows again, showing everything.
    let mut app = app(&[]);
    let mut entries = infos(0, 40);
    for (i, e) in entries.iter_mut().enumerate() {
        e.meta.insert("requestId", format!("req_{}", i % 4));
    }
    push(&mut app, entries);
    press(&mut app, "r");
    assert!(!app.view.follow);
    assert_eq!(app.selected_entry().unwrap().message, "message 39");
    assert_eq!(shown_messages(&app).len(), 10);
    press_code(&mut app, KeyCode::Esc);
    assert!(app.view.follow, "following again, as before the pivot");
    assert_eq!(shown_messages(&app).len(), 40);

    // Scrolled: n and N from a held place, then Esc puts the same rows and selection back.
    press(&mut app, "kkkkkkkkkkkkkkkkkkkk");
    let (top, selected) = (app.view.top, app.view.selected);
    assert_eq!(app.selected_entry().unwrap().message, "message 19");
    press(&mut app, "/message 3");
    press_code(&mut app, KeyCode::Enter);
    press(&mut app, "nnN");
    assert_ne!(app.view.selected, selected);
    press_code(&mut app, KeyCode::Esc);
    assert!(app.search.regex.is_none());
    assert!(!app.view.follow);
    assert_eq!((app.view.top, app.view.selected), (top, selected));

    // `r` off returns too; after G (live again) there is nowhere to return to.
    press(&mut app, "r");
    press(&mut app, "r");
    assert_eq!(app.view.selected, selected);
    press(&mut app, "rG");
    press_code(&mut app, KeyCode::Esc);
    assert!(app.view.follow && app.filter.request.is_none());
}

#[test]
fn the_detail_steps_through_the_view_and_pivots_with_r() {
    let mut app = app(&[]);
    let mut entries = infos(0, 6);
    for (i, e) in entries.iter_mut().enumerate() {
        e.meta.insert("requestId", format!("req_{}", i % 2));
    }
    push(&mut app, entries);
    press(&mut app, "k");
    press_code(&mut app, KeyCode::Enter);
    let shown = |app: &App| app.detail.as_ref().unwrap().entry.message.clone();
    assert_eq!(shown(&app), "message 4");
    press_code(&mut app, KeyCode::Left);
    press(&mut app, "h");
    assert_eq!((app.mode, shown(&app)), (Mode::Detail, "message 2".into()));
    press(&mut app, "ll");
    assert_eq!(shown(&app), "message 4");
    press_code(&mut app, KeyCode::Right);
    assert_eq!(shown(&app), "message 5");
    press(&mut app, "l");
    assert_eq!(shown(&app), "message 5");
    assert_eq!(notice(&app), Some("this is the newest entry shown"));
    // `r` closes the detail and pivots on the entry it showed.
    press_code(&mut app, KeyCode::Left);
    press(&mut app, "r");
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(
        shown_messages(&app),
        ["message 0", "message 2", "message 4"]
    );
    assert_eq!(app.selected_entry().unwrap().message, "message 4");
}

#[test]
fn e_exports_the_entries_shown_as_ndjson_and_says_where() {
    let dir = std::env::temp_dir().join(format!("vg-export-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut app = app(&[]);
    let mut entries = infos(0, 4);
    entries.push(entry(4, Level::Error, "db", "boom"));
    entries[1].meta.insert("userId", "u_1");
    push(&mut app, entries);
    press(&mut app, "3");
    app.export_to(&dir);
    let said = notice(&app).unwrap().to_owned();
    assert!(said.starts_with("exported 1 entry to "), "{said}");
    let path = said.trim_start_matches("exported 1 entry to ");
    let text = std::fs::read_to_string(path).unwrap();
    let exported: Vec<LogEntry> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(exported.len(), 1);
    assert_eq!(
        (exported[0].level, exported[0].message.as_str()),
        (Level::Error, "boom")
    );
    press(&mut app, "3");
    // A second export a moment later is a file of its own, with the info entries back.
    app.wall += chrono::Duration::milliseconds(5);
    app.export_to(&dir);
    let said = notice(&app).unwrap().to_owned();
    let second =
        std::fs::read_to_string(said.trim_start_matches("exported 5 entries to ")).unwrap();
    assert!(second.contains(r#""userId":"u_1""#), "{second}");
    assert_eq!(second.lines().count(), 5);
    std::fs::remove_dir_all(&dir).unwrap();
}
