//! Snapshots of what a user sees, drawn on ratatui's `TestBackend`. Time is fixed and the clock is
//! stepped by hand, so each screen is reproducible to the cell.

use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use insta::{assert_debug_snapshot, assert_snapshot};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use super::render;
use crate::client::{ConnState, SourceEvent};
use crate::model::{Level, LogEntry};
use crate::tui::app::App;
use crate::tui::app::tests::{app_with, entry, press, press_code, press_ctrl, wall};
use crate::wire::{Gap, GapReason};

fn draw_buffer(app: &App) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    terminal.draw(|frame| render(app, frame)).unwrap();
    terminal.backend().buffer().clone()
}

/// The screen as text, one line per row.
fn draw(app: &App) -> String {
    let buffer = draw_buffer(app);
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut skip = 0;
        for x in 0..buffer.area.width {
            // A wide character's second cell is blank in the buffer; do not print it twice.
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let symbol = buffer[(x, y)].symbol();
            skip = crate::tui::text::width(symbol).saturating_sub(1);
            out.push_str(symbol);
        }
        out.push('\n');
    }
    out
}

fn with_meta(mut e: LogEntry, pairs: &[(&'static str, serde_json::Value)]) -> LogEntry {
    for (k, v) in pairs {
        e.meta.insert(*k, v.clone());
    }
    e
}

fn placed(mut e: LogEntry, instance: &str, region: &str) -> LogEntry {
    e.instance = Some(instance.into());
    e.region = Some(region.into());
    e
}

/// A realistic few seconds of traffic, arriving live over five seconds.
fn streaming(size: (u16, u16), args: &[&str]) -> App {
    let t0 = Instant::now();
    let mut app = app_with(args, size, t0);
    app.on_source(
        SourceEvent::State(ConnState::Connected {
            target: "ws://127.0.0.1:7007/api/logs/stream".into(),
            server: "vg 0.1.0".into(),
        }),
        t0,
    );
    app.on_source(SourceEvent::Live, t0);
    let lines: Vec<LogEntry> = vec![
        placed(
            with_meta(
                entry(0, Level::Info, "api", "GET /api/users 200 12ms"),
                &[
                    ("method", "GET".into()),
                    ("status", 200.into()),
                    ("requestId", "req_1".into()),
                ],
            ),
            "148e",
            "ord",
        ),
        placed(
            entry(1, Level::Debug, "db", "query users took 3ms"),
            "d001",
            "fra",
        ),
        placed(
            with_meta(
                entry(
                    2,
                    Level::Warn,
                    "api",
                    "slow request: timeout budget 80% used",
                ),
                &[("requestId", "req_2".into())],
            ),
            "148e",
            "ord",
        ),
        placed(
            entry(
                3,
                Level::Info,
                "worker",
                "job sync-invoices finished in 2.3s",
            ),
            "77f1",
            "ams",
        ),
        placed(
            with_meta(
                entry(
                    4,
                    Level::Error,
                    "api",
                    "POST /api/orders 500: timeout talking to payments",
                ),
                &[("status", 500.into()), ("requestId", "req_2".into())],
            ),
            "148e",
            "ord",
        ),
        placed(
            entry(5, Level::Trace, "db", "pool: 4 idle, 6 busy"),
            "d001",
            "fra",
        ),
        placed(
            entry(6, Level::Info, "auth", "user u_42 logged in"),
            "a1",
            "ord",
        ),
        placed(
            entry(7, Level::Fatal, "worker", "out of memory, exiting"),
            "77f1",
            "ams",
        ),
        placed(
            entry(8, Level::Info, "api", "GET /healthz 200 1ms"),
            "9a2c",
            "ams",
        ),
    ];
    for (i, e) in lines.into_iter().enumerate() {
        let at = t0 + Duration::from_millis(600 * i as u64);
        app.on_source(SourceEvent::Entries(vec![e]), at);
    }
    app.tick(
        t0 + Duration::from_secs(5),
        wall() + chrono::Duration::seconds(9),
    );
    app
}

#[test]
fn streaming_follows_the_newest_entry() {
    assert_snapshot!(draw(&streaming((110, 14), &[])));
}

#[test]
fn paused_with_new_entries_waiting() {
    let mut app = streaming((100, 12), &[]);
    press(&mut app, " ");
    let now = app.now;
    app.on_source(
        SourceEvent::Entries(vec![
            entry(20, Level::Error, "api", "late 1"),
            entry(21, Level::Info, "api", "late 2"),
            entry(22, Level::Error, "api", "late 3"),
        ]),
        now,
    );
    let screen = draw(&app);
    assert!(
        !screen.contains("late"),
        "paused means the screen does not move"
    );
    assert_snapshot!(screen);
}

#[test]
fn paused_scrolling_takes_in_arrivals_and_counts_down() {
    let mut app = streaming((100, 12), &[]);
    press(&mut app, " ");
    let now = app.now;
    app.on_source(
        SourceEvent::Entries(vec![
            entry(20, Level::Error, "api", "late 1"),
            entry(21, Level::Info, "api", "late 2"),
            entry(22, Level::Error, "api", "late 3"),
        ]),
        now,
    );
    press(&mut app, "jj");
    let screen = draw(&app);
    assert!(screen.contains("late 2") && !screen.contains("late 3"));
    assert!(screen.contains("PAUSED +1 new (1 error"), "{screen}");
    assert_snapshot!(screen);
}

#[test]
fn search_while_typing_shows_matches_and_an_invalid_pattern_inline() {
    let mut app = streaming((100, 12), &[]);
    press(&mut app, "/time(out");
    assert_snapshot!("search_invalid", draw(&app));
    press(&mut app, ")");
    assert_snapshot!("search_valid", draw(&app));
}

#[test]
fn search_matches_are_highlighted() {
    let mut app = streaming((60, 5), &[]);
    press(&mut app, "/mem");
    // Colour is the point here, so the whole buffer with its styles is the snapshot.
    assert_debug_snapshot!(draw_buffer(&app));
}

#[test]
fn filter_to_matches() {
    let mut app = streaming((100, 10), &[]);
    press(&mut app, "/timeout");
    press_code(&mut app, KeyCode::Enter);
    press(&mut app, "f");
    assert_snapshot!(draw(&app));
}

#[test]
fn search_can_match_meta_values_and_the_status_bar_says_so() {
    let mut app = streaming((110, 10), &[]);
    press(&mut app, "/req_2");
    press_code(&mut app, KeyCode::Enter);
    press(&mut app, "f");
    // `req_2` is only ever a `requestId` value: the message-only search finds nothing.
    assert_eq!(app.shown_entries(), 0);
    press(&mut app, "m");
    assert_snapshot!("search_fields", draw(&app));
    press(&mut app, "m");
    assert_eq!(app.shown_entries(), 0, "back to the message only");
}

#[test]
fn chosen_meta_fields_show_as_aligned_columns_after_or_before_the_message() {
    let mut app = streaming((110, 14), &[]);
    press(&mut app, "v");
    // Offered: the keys the buffer holds, most common first (requestId 3, status 2, method 1).
    assert_snapshot!("fields_list", draw(&app));
    press(&mut app, " j ");
    press_code(&mut app, KeyCode::Enter);
    assert_snapshot!("fields_after", draw(&app));
    press(&mut app, "vb");
    press_code(&mut app, KeyCode::Esc);
    assert_snapshot!("fields_before", draw(&app));
    // Remembered: reopening the list shows them chosen, and taking one off removes its column.
    press(&mut app, "v ");
    press_code(&mut app, KeyCode::Enter);
    assert_eq!(
        app.fields
            .chosen
            .iter()
            .map(|c| c.key.as_str())
            .collect::<Vec<_>>(),
        ["status"]
    );
}

#[test]
fn source_picker_lists_names_with_counts() {
    let mut app = streaming((100, 16), &[]);
    press(&mut app, "s");
    crate::tui::app::tests::press_code(&mut app, KeyCode::Down);
    press(&mut app, " ");
    assert_snapshot!(draw(&app));
}

#[test]
fn detail_shows_every_field() {
    let mut app = streaming((90, 24), &[]);
    let e = placed(
        with_meta(
            entry(
                9,
                Level::Error,
                "api",
                "panic: index out of range\n\tat handlers.rs:42\n\tat main.rs:7",
            ),
            &[
                ("requestId", "req_9".into()),
                ("user", serde_json::json!({"id": 7, "plan": "pro"})),
            ],
        ),
        "148e",
        "ord",
    );
    let now = app.now;
    app.on_source(SourceEvent::Entries(vec![e]), now);
    press_code(&mut app, KeyCode::Enter);
    let screen = draw(&app);
    // The local zone differs between machines; its text has a fixed width, so mask it in place.
    let local =
        regex::Regex::new(r"local \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d\d:\d\d").unwrap();
    assert_snapshot!(local.replace_all(&screen, "local YYYY-MM-DD hh:mm:ss.mmm +zz:zz"));
}

#[test]
fn help_is_generated_from_the_keymap() {
    let mut app = streaming((80, 84), &[]);
    press(&mut app, "?");
    assert_snapshot!(draw(&app));
}

#[test]
fn help_scrolls_no_further_than_its_last_page() {
    let mut app = streaming((80, 16), &[]);
    press(&mut app, "?");
    let first = draw(&app);
    for _ in 0..200 {
        press(&mut app, "j");
    }
    let end = draw(&app);
    assert_ne!(end, first, "the help scrolls");
    // The bottom border sits right under the last line, and k moves back at once.
    let rows: Vec<&str> = end.lines().collect();
    let bottom = rows.iter().rposition(|r| r.contains("esc close")).unwrap();
    assert!(
        !rows[bottom - 1].trim_matches(['│', ' ']).is_empty(),
        "{end}"
    );
    press(&mut app, "k");
    assert_ne!(draw(&app), end, "k after the end moves at once");
}

#[test]
fn wrapped_rows_continue_under_the_message() {
    let mut app = streaming((72, 14), &[]);
    press(&mut app, "w");
    assert_snapshot!(draw(&app));
}

#[test]
fn a_gap_is_a_row_in_the_log() {
    let mut app = streaming((100, 10), &[]);
    let now = app.now;
    app.on_source(
        SourceEvent::Gap(
            Gap {
                missed: 1234,
                from_seq: Some(10),
                to_seq: Some(1243),
                reason: GapReason::Lagged,
            }
            .into(),
        ),
        now,
    );
    app.on_source(
        SourceEvent::Entries(vec![entry(30, Level::Info, "api", "after the gap")]),
        now,
    );
    assert_snapshot!(draw(&app));
}

#[test]
fn a_graceful_restart_is_a_new_stream_not_a_loss() {
    let mut app = streaming((100, 10), &[]);
    let now = app.now;
    // What the client gets on resuming after a server sent everything and closed with 1000.
    app.on_source(
        SourceEvent::Gap(
            Gap {
                missed: 0,
                from_seq: None,
                to_seq: None,
                reason: GapReason::Restart,
            }
            .into(),
        ),
        now,
    );
    let screen = draw(&app);
    assert!(
        screen.contains("... server restarted; a new stream began"),
        "{screen}"
    );
    assert!(!screen.contains("missed"), "{screen}");
    assert!(screen.contains("gaps 0"), "{screen}");
}

#[test]
fn a_crash_restart_gap_counts_at_most_in_the_status_bar_as_in_its_row() {
    let mut app = streaming((100, 10), &[]);
    let now = app.now;
    let gap = Gap {
        missed: 4036,
        from_seq: Some(21),
        to_seq: Some(4056),
        reason: GapReason::Restart,
    };
    app.on_source(SourceEvent::Gap(gap.into()), now);
    let screen = draw(&app);
    assert!(screen.contains("up to 4,036 entries missed"), "{screen}");
    assert!(screen.contains("gaps 1 (up to 4,036 missed)"), "{screen}");
}

#[test]
fn with_a_server_filter_a_gap_count_is_an_upper_bound_as_in_vg_logs() {
    let mut app = streaming((100, 10), &["--where", "status>=500"]);
    let now = app.now;
    let gap = Gap {
        missed: 7,
        from_seq: Some(3),
        to_seq: Some(9),
        reason: GapReason::Evicted,
    };
    app.on_source(SourceEvent::Gap(gap.clone().into()), now);
    let screen = draw(&app);
    assert!(
        screen.contains(&format!("... {}", gap.describe(true))),
        "{screen}"
    );
    assert!(
        screen.contains("up to 7 entries missed (no longer in server history)"),
        "{screen}"
    );
    assert!(screen.contains("gaps 1 (up to 7 missed)"), "{screen}");
}

#[test]
fn where_the_server_history_starts_is_a_status_bar_notice() {
    let mut app = streaming((180, 8), &["--since", "10m"]);
    let now = app.now;
    // The client's note when `hello` says the history starts after --since (as vg logs prints it).
    let note = "the server's history starts at 2026-02-05T18:04:00.250Z (its oldest entry), later than --since 10m";
    app.on_source(SourceEvent::Notice(note.into()), now);
    let screen = draw(&app);
    let status = screen.lines().last().unwrap_or_default();
    assert!(status.contains(note), "{screen}");
}

#[test]
fn reconnecting_counts_down_in_the_status_bar() {
    let mut app = streaming((100, 8), &[]);
    let now = app.now;
    app.on_source(
        SourceEvent::State(ConnState::Reconnecting {
            target: "ws://127.0.0.1:7007/api/logs/stream".into(),
            retry_at: now + Duration::from_millis(2500),
            reason: "cannot reach ws://127.0.0.1:7007/api/logs/stream: connection refused".into(),
        }),
        now,
    );
    assert_snapshot!(draw(&app));
}

#[test]
fn several_servers_say_which_one_is_down() {
    let mut app = streaming((110, 8), &[]);
    let now = app.now;
    app.on_source(
        SourceEvent::State(ConnState::Connected {
            target: "ws://127.0.0.1:7008/api/logs/stream".into(),
            server: "vg 0.1.0".into(),
        }),
        now,
    );
    let status = draw(&app).lines().last().unwrap_or_default().to_owned();
    assert!(status.contains("● 2 servers connected"), "{status}");
    app.on_source(
        SourceEvent::State(ConnState::Reconnecting {
            target: "ws://127.0.0.1:7008/api/logs/stream".into(),
            retry_at: now + Duration::from_millis(2500),
            reason: "cannot reach ws://127.0.0.1:7008/api/logs/stream: connection refused".into(),
        }),
        now,
    );
    assert_snapshot!(draw(&app));
}

#[test]
fn redis_trouble_on_a_merged_stream_shows_in_the_status_bar() {
    let mut app = streaming((110, 8), &[]);
    let now = app.now;
    let redis = |state: &str, buffered, overflow| SourceEvent::Redis {
        state: crate::wire::RedisState {
            state: state.into(),
            buffered,
            overflow,
        },
        server: None,
    };
    app.on_source(redis("up", 0, 0), now);
    let status = draw(&app).lines().last().unwrap_or_default().to_owned();
    assert!(status.contains("redis up"), "{status}");
    app.on_source(redis("down", 12_345, 67), now);
    assert_snapshot!(draw(&app));
}

#[test]
fn a_40x10_terminal_keeps_what_matters() {
    let mut app = streaming((40, 10), &[]);
    assert_snapshot!("small_streaming", draw(&app));
    press(&mut app, " ");
    assert_snapshot!("small_paused", draw(&app));
    press(&mut app, "s");
    assert_snapshot!("small_picker", draw(&app));
}

#[test]
fn wide_unicode_keeps_columns_aligned() {
    let mut app = streaming((80, 9), &[]);
    let now = app.now;
    app.on_source(
        SourceEvent::Entries(vec![
            placed(
                entry(
                    30,
                    Level::Info,
                    "日本語",
                    "ユーザーがログインしました 🚀 done",
                ),
                "東京",
                "nrt",
            ),
            placed(
                entry(31, Level::Warn, "api", "emoji 🎉🎉🎉 then text"),
                "148e",
                "ord",
            ),
            placed(
                entry(32, Level::Info, "café", "combining é and tab\there"),
                "148e",
                "ord",
            ),
        ]),
        now,
    );
    let screen = draw(&app);
    // Every message starts in the same column, whatever came before it.
    let column = |needle: &str| {
        let line = screen.lines().find(|l| l.contains(needle)).unwrap();
        crate::tui::text::width(&line[..line.find(needle).unwrap()])
    };
    assert_eq!(column("ユーザー"), column("emoji"));
    assert_eq!(column("emoji"), column("combining"));
    assert_snapshot!(screen);
}

#[test]
fn hostile_escape_sequences_are_shown_not_obeyed() {
    let mut app = streaming((110, 9), &[]);
    let now = app.now;
    let mut evil = entry(
        30,
        Level::Error,
        "api\u{1b}[2J",
        "title \u{1b}]0;pwned\u{7} clear \u{1b}[2J\u{1b}[H bidi \u{202e}gnp.exe",
    );
    evil.meta.insert("ua\r", "curl\u{1b}[8m hidden");
    let forged = entry(
        31,
        Level::Info,
        "api",
        "ok\n2026-02-05T18:13:38.000Z info  forged line\rEVIL",
    );
    app.on_source(SourceEvent::Entries(vec![evil, forged]), now);
    let buffer = draw_buffer(&app);
    for cell in buffer.content() {
        assert!(
            !cell
                .symbol()
                .chars()
                .any(|c| c.is_control() || crate::format::is_unsafe(c)),
            "{:?}",
            cell.symbol()
        );
    }
    assert_snapshot!(draw(&app));
}

#[test]
fn tiny_terminals_do_not_panic() {
    for (w, h) in [(0, 0), (1, 1), (10, 3), (20, 5), (39, 9)] {
        let mut app = streaming((w, h), &[]);
        for keys in ["", "s", "?", "/x", "\u{0}"] {
            press(&mut app, keys);
            draw(&app);
            press_code(&mut app, KeyCode::Esc);
        }
        press_code(&mut app, KeyCode::Enter);
        draw(&app);
    }
}

#[test]
fn the_command_lines_name_rules_are_listed_among_the_filters() {
    let app = streaming((160, 8), &["--source", "api*", "--exclude-source", "db"]);
    let screen = draw(&app);
    let status = screen.lines().last().unwrap();
    assert!(status.contains("filters: sources api*,-db 1/4"), "{status}");
}

#[test]
fn a_narrow_status_bar_keeps_the_filters_that_explain_what_is_hidden() {
    let app = streaming((60, 8), &["--level", "warn", "--source", "api*"]);
    let screen = draw(&app);
    let status = screen.lines().last().unwrap();
    assert!(status.contains("connected"), "{status}");
    assert!(status.contains("filters: -trace,debug,info"), "{status}");
}

#[test]
fn a_paused_screen_whose_rows_were_evicted_shows_the_oldest_still_held() {
    let mut app = streaming((100, 12), &["--buffer", "9"]);
    press(&mut app, " ");
    let now = app.now;
    let late = (1..=12)
        .map(|n| entry(20 + n, Level::Info, "api", &format!("late {n}")))
        .collect();
    app.on_source(SourceEvent::Entries(late), now);
    let screen = draw(&app);
    assert!(!screen.contains("none shown"), "{screen}");
    assert_snapshot!(screen);
}

#[test]
fn retyping_a_filtering_search_says_only_matches_stays_on() {
    let mut app = streaming((100, 10), &[]);
    press(&mut app, "/timeout");
    press_code(&mut app, KeyCode::Enter);
    press(&mut app, "f/");
    press_ctrl(&mut app, 'u');
    let screen = draw(&app);
    let search = screen.lines().nth(8).unwrap();
    assert!(search.contains("only matches (f)"), "{screen}");
}

#[test]
fn detail_end_shows_the_last_page_full() {
    let mut app = streaming((90, 24), &[]);
    let message = (1..=100)
        .map(|n| format!("line {n}"))
        .collect::<Vec<_>>()
        .join("\n");
    let now = app.now;
    app.on_source(
        SourceEvent::Entries(vec![entry(9, Level::Info, "api", &message)]),
        now,
    );
    press_code(&mut app, KeyCode::Enter);
    let total = app.detail_lines();
    // The text area is rows 1..=21: a border above and below, the status bar last.
    let pane = |app: &App| {
        let screen = draw(app);
        let rows: Vec<String> = screen.lines().map(str::to_owned).collect();
        (rows[0].clone(), rows[1..=21].to_vec())
    };
    press(&mut app, "G");
    let (top, rows) = pane(&app);
    assert!(top.contains(&format!(" {total}/{total} ")), "{top}");
    assert!(rows[20].contains("  line 100 "), "{rows:#?}");
    assert!(rows[0].contains("  line 80 "), "a full page: {rows:#?}");
    // Nothing lies past the end: j and pgdn stay, and k moves at once.
    press(&mut app, "j");
    press_code(&mut app, KeyCode::PageDown);
    assert_eq!(pane(&app), (top.clone(), rows.clone()));
    press(&mut app, "k");
    let (top, rows) = pane(&app);
    assert!(top.contains(&format!(" {}/{total} ", total - 1)), "{top}");
    assert!(rows[20].contains("  line 99 "), "{rows:#?}");
}

#[test]
fn segments_draw_exactly_as_a_line_of_spans_would() {
    use crate::tui::text::{Class, Segment};
    use ratatui::layout::Rect;
    use ratatui::text::{Line, Span};
    let segments: Vec<Segment> = [
        (Class::Time, "18:13:38.000Z "),
        (Class::Level(Level::Warn), "warn "),
        (Class::Origin, "日本語[🚀] "),
        (Class::Message, "plain ascii "),
        (Class::Match, "e\u{301}t\u{e9} wide 全角 "),
        (Class::Meta, "  k=v and more than fits on the line"),
    ]
    .into_iter()
    .map(|(class, text)| Segment {
        class,
        text: text.into(),
    })
    .collect();
    for (x, width) in [(0, 60), (3, 20), (0, 14), (5, 0), (2, 200)] {
        let area = Rect::new(0, 0, 70, 1);
        let (mut ours, mut theirs) = (Buffer::empty(area), Buffer::empty(area));
        super::set_segments(&mut ours, x, 0, &segments, width);
        let line = Line::from(
            segments
                .iter()
                .map(|s| Span::styled(s.text.as_str(), super::theme::class(s.class)))
                .collect::<Vec<_>>(),
        );
        theirs.set_line(x, 0, &line, width);
        assert_eq!(ours, theirs, "from x={x}, {width} wide");
    }
}

#[test]
fn the_latest_alert_stays_in_the_status_bar_and_a_lists_them_all() {
    use crate::wire::{Alert, AlertState};
    let mut app = streaming((100, 16), &[]);
    let alert = |state, at: i64, summary: &str| Alert {
        rule: "api errors".into(),
        state,
        at: wall() + chrono::Duration::seconds(at),
        count: 7,
        suppressed: 0,
        group: None,
        summary: summary.into(),
    };
    let now = app.now;
    press(&mut app, "A");
    // Before any alert the list says why it is empty.
    assert!(draw(&app).contains("No alerts yet"), "{}", draw(&app));
    press_code(&mut app, KeyCode::Esc);
    app.on_source(
        SourceEvent::Alert(alert(
            AlertState::Firing,
            1,
            "[firing] api errors: 7 in 1m (threshold 5); last: error api: \u{1b}[2J",
        )),
        now,
    );
    app.on_source(
        SourceEvent::Alert(alert(
            AlertState::Resolved,
            61,
            "[resolved] api errors: 1 in 1m (threshold 5)",
        )),
        now,
    );
    assert_snapshot!("alert_in_status_bar", draw(&app));
    press(&mut app, "A");
    assert_snapshot!("alerts_listed_newest_first", draw(&app));
    press(&mut app, "A");
    assert!(!draw(&app).contains("Alerts (2)"), "A closes the list");
}

#[test]
fn a_firing_alert_shows_a_banner_until_its_rule_resolves() {
    use crate::wire::{Alert, AlertState};
    let mut app = streaming((100, 16), &[]);
    let alert = |rule: &str, state, summary: &str| Alert {
        rule: rule.into(),
        state,
        at: wall(),
        count: 7,
        suppressed: 0,
        group: None,
        summary: summary.into(),
    };
    let now = app.now;
    let banner = |app: &App| draw(app).contains("ALERT firing");
    app.on_source(
        SourceEvent::Alert(alert(
            "api errors",
            AlertState::Firing,
            "[firing] api errors: 7 in 1m (threshold 5)",
        )),
        now,
    );
    assert_snapshot!("alert_banner", draw(&app));
    // Another rule resolving leaves the firing one's banner up.
    app.on_source(
        SourceEvent::Alert(alert(
            "worker silent",
            AlertState::Firing,
            "[firing] worker silent: no entry for 2m",
        )),
        now,
    );
    app.on_source(
        SourceEvent::Alert(alert(
            "worker silent",
            AlertState::Resolved,
            "[resolved] worker silent",
        )),
        now,
    );
    assert!(
        draw(&app).contains("ALERT firing: [firing] api errors"),
        "{}",
        draw(&app)
    );
    app.on_source(
        SourceEvent::Alert(alert(
            "api errors",
            AlertState::Resolved,
            "[resolved] api errors",
        )),
        now,
    );
    assert!(!banner(&app), "{}", draw(&app));
}
