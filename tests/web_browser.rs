//! The web dashboard in a real browser: Debian's `chromium` driven through `chromedriver`
//! (WebDriver), against a real `vg serve`, entries sent with `POST /api/logs` as an app would.
//!
//! Without chromium and chromedriver these tests say so and pass, so `cargo test` works anywhere;
//! with `VG_REQUIRE_BROWSER=1` (set in CI) a missing browser fails them instead. `VG_CHROMIUM` and
//! `VG_CHROMEDRIVER` name other binaries.
//!
//! The WebDriver client (`tests/web/driver.rs`) is shared with `benches/web_dashboard.rs`.

#![cfg(all(feature = "server", feature = "cli"))]

use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

#[path = "web/driver.rs"]
mod driver;

use driver::{Browser, ENTER, ESCAPE, Server, entry};

/// One browser at a time: each is a chromium with its own renderer processes, and the machines
/// that run the suite are small.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

/// Waits until the rows on screen include one containing `needle`.
fn wait_row(browser: &Browser, needle: &str) {
    let script = format!(
        "return [...document.querySelectorAll('#log .r:not([hidden])')].some(r => r.textContent.includes({}))",
        json!(needle)
    );
    browser.wait(&format!("a row with {needle:?}"), &script);
}

fn one_browser() -> std::sync::MutexGuard<'static, ()> {
    ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------------
// A TCP relay between the browser and the server that can cut every connection, to drop the
// page's WebSocket the way a network does, on a server that keeps running.

struct Relay {
    addr: String,
    open: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
}

impl Relay {
    fn start(target: &str) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let open = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let target = target.to_owned();
        let (o, s, c) = (Arc::clone(&open), Arc::clone(&stop), Arc::clone(&conns));
        thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let Ok((client, _)) = listener.accept() else {
                    thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = client.set_nonblocking(false);
                if !o.load(Ordering::Relaxed) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let mut held = c.lock().unwrap();
                held.push(client.try_clone().unwrap());
                held.push(server.try_clone().unwrap());
                drop(held);
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Relay {
            addr,
            open,
            conns,
            stop,
        }
    }

    /// Cuts every connection and refuses new ones until [`Relay::reopen`].
    fn cut(&self) {
        self.open.store(false, Ordering::Relaxed);
        for conn in self.conns.lock().unwrap().drain(..) {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }

    fn reopen(&self) {
        self.open.store(true, Ordering::Relaxed);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.cut();
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
    });
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[test]
fn entries_stream_in_and_level_toggles_search_and_pickers_filter_them() {
    let _one = one_browser();
    let Some(browser) = Browser::launch() else {
        return;
    };
    let server = Server::start(&[]);
    let mut first = Vec::new();
    for i in 0..12 {
        let (level, source) = match i % 4 {
            0 => ("error", "db"),
            1 => ("info", "api"),
            2 => ("warn", "api"),
            _ => ("debug", "worker"),
        };
        first.push(entry(level, source, &format!("request {i} handled")));
    }
    server.post(&first);
    browser.goto(&format!("http://{}/", server.addr));
    wait_row(&browser, "request 11 handled");
    assert_eq!(browser.rows().len(), 12);
    assert!(browser.text("conn").contains("connected"));
    assert!(
        browser.text("levels").contains("5error3"),
        "{}",
        browser.text("levels")
    );

    // Live: what the app sends now shows without a reload.
    server.post(&[entry("info", "api", "arrived live")]);
    wait_row(&browser, "arrived live");

    // `5` hides errors, and says so on the button; `5` again shows them.
    browser.keys("5");
    browser.wait(
        "error rows hidden",
        "return ![...document.querySelectorAll('#log .r:not([hidden])')].some(r => r.textContent.includes(' error '))",
    );
    assert_eq!(browser.rows().len(), 10);
    assert_eq!(
        browser
            .js("return document.querySelector('[data-level=error]').getAttribute('aria-pressed')"),
        json!("false")
    );
    assert!(
        browser
            .js("return location.hash")
            .as_str()
            .unwrap()
            .contains("hide=error")
    );
    browser.keys("5");
    // Every level key toggles its level, and the rows follow.
    for (key, level) in ["trace", "debug", "info", "warn", "error", "fatal"]
        .iter()
        .enumerate()
        .map(|(i, l)| ((i + 1).to_string(), *l))
    {
        browser.keys(&key);
        let off = format!(
            "return document.querySelector('[data-level={level}]').getAttribute('aria-pressed') === 'false' \
             && ![...document.querySelectorAll('#log .r:not([hidden]) .lv')].some(s => s.textContent === '{level}')"
        );
        browser.wait(&format!("{level} hidden"), &off);
        browser.keys(&key);
    }
    browser.wait(
        "errors back",
        "return document.querySelectorAll('#log .r:not([hidden])').length === 13",
    );

    // Search: highlighted as typed, counted; `f` shows only the matches.
    browser.keys("/");
    browser.type_into("#search", "request 1[01]");
    browser.wait(
        "the match count",
        "return document.getElementById('matches').textContent === '2 matches'",
    );
    let marks =
        browser.js("return [...document.querySelectorAll('#log mark')].map(m => m.textContent)");
    assert_eq!(marks, json!(["request 10", "request 11"]));
    browser.type_into("#search", ENTER);
    browser.keys("f");
    browser.wait(
        "only matches",
        "return document.querySelectorAll('#log .r:not([hidden])').length === 2",
    );
    // `n` selects a match (the page handles the key on its own time: wait for the selection).
    browser.keys("n");
    browser.wait(
        "a selected row",
        "return document.querySelector('#log .r.sel') !== null",
    );
    let selected = browser.js("return document.querySelector('#log .r.sel')?.textContent");
    assert!(
        selected.as_str().unwrap_or_default().contains("request 10"),
        "{selected}"
    );
    browser.keys(ESCAPE);
    browser.keys(ESCAPE);
    browser.wait(
        "search cleared",
        "return document.querySelectorAll('#log .r:not([hidden])').length === 13",
    );

    // The picker: hide the `db` source.
    browser.keys("s");
    browser.click("#picker input[data-name='db']");
    browser.wait(
        "db rows hidden",
        "return document.querySelectorAll('#log .r:not([hidden])').length === 10",
    );
    assert!(browser.rows().iter().all(|r| !r.contains(" db ")));
    browser.keys(ESCAPE);

    // The URL holds the view: a colleague opening it sees the same rows.
    let url = browser.js("return location.href");
    let url = url.as_str().unwrap();
    assert!(url.contains("xsource=db"), "{url}");
    browser.goto("about:blank");
    browser.goto(url);
    wait_row(&browser, "arrived live");
    assert_eq!(browser.rows().len(), 10);
    assert!(browser.rows().iter().all(|r| !r.contains(" db ")));

    // A `where` filter on meta, as `--where` reads it.
    server.post(&[
        json!({"timestamp": "2026-12-01T10:00:01.000Z", "level": "info", "source": "api", "message": "slow", "meta": {"duration": 900}}),
        json!({"timestamp": "2026-12-01T10:00:01.000Z", "level": "info", "source": "api", "message": "fast", "meta": {"duration": 9}}),
    ]);
    wait_row(&browser, "fast");
    browser.type_into("#where", &format!("duration>=500{ENTER}"));
    browser.wait(
        "where applied",
        "return document.querySelectorAll('#log .r:not([hidden])').length === 1",
    );
    assert!(browser.rows()[0].contains("slow"));
}

#[test]
fn pause_counts_what_arrives_and_resume_shows_it() {
    let _one = one_browser();
    let Some(browser) = Browser::launch() else {
        return;
    };
    let server = Server::start(&[]);
    server.post(&[entry("info", "api", "before the pause")]);
    browser.goto(&format!("http://{}/", server.addr));
    wait_row(&browser, "before the pause");
    browser.keys(" ");
    browser.wait(
        "paused",
        "return document.getElementById('pause').textContent === 'resume'",
    );
    server.post(&[
        entry("info", "api", "while paused 1"),
        entry("error", "api", "while paused 2"),
        entry("fatal", "api", "while paused 3"),
    ]);
    let paused = browser.wait(
        "the paused count",
        "const t = document.getElementById('paused').textContent; return t.includes('+3') && t",
    );
    assert_eq!(paused, json!("PAUSED +3 new (2 errors)"));
    // The view held still: the first entry is still on top, and the status counts what came.
    assert!(browser.rows()[0].contains("before the pause"));
    // The rows that came while paused may already sit in the view (four rows fit on the page),
    // so what resume changes is read from the status, which the page redraws on its own time.
    browser.keys(" ");
    browser.wait(
        "resumed",
        "return document.getElementById('paused').hidden && document.getElementById('pause').textContent === 'pause'",
    );
    wait_row(&browser, "while paused 3");
}

#[test]
fn a_dropped_connection_resumes_without_loss_and_reports_what_history_lost() {
    let _one = one_browser();
    let Some(browser) = Browser::launch() else {
        return;
    };
    // History of 50: what is sent while the page is away beyond that is gone, and said to be.
    let server = Server::start(&["--history", "50"]);
    let relay = Relay::start(&server.addr);
    let batch = |from: usize, to: usize| -> Vec<Value> {
        (from..to)
            .map(|i| entry("info", "api", &format!("entry {i:03}")))
            .collect()
    };
    server.post(&batch(0, 10));
    browser.goto(&format!("http://{}/", relay.addr));
    wait_row(&browser, "entry 009");
    let seqs = "return window.vgDashboard && (() => { const b = window.vgDashboard.buffer; const out = []; \
                for (let a = b.start; a < b.end; a++) { const r = b.get(a); out.push(r.gap ? `gap ${r.missed} ${r.reason}` : r.seq); } return out; })()";

    // A short drop: everything sent meanwhile arrives once, with no gap.
    relay.cut();
    browser.wait(
        "the page to notice",
        "return document.getElementById('conn').textContent.includes('reconnecting')",
    );
    server.post(&batch(10, 30));
    relay.reopen();
    wait_row(&browser, "entry 029");
    let got: Vec<Value> = serde_json::from_value(browser.js(seqs)).unwrap();
    let expected: Vec<Value> = (1..=30).map(|s| json!(s)).collect();
    assert_eq!(got, expected, "every entry once, in order, no gap");
    assert!(browser.text("counts").contains("gaps 0"));
    assert!(browser.text("conn").contains("connected"));

    // A long one: 100 sent while away, history keeps 50, so 50 are missed and a gap row says so.
    relay.cut();
    browser.wait(
        "the page to notice",
        "return document.getElementById('conn').textContent.includes('reconnecting')",
    );
    server.post(&batch(30, 130));
    relay.reopen();
    wait_row(&browser, "entry 129");
    let got: Vec<Value> = serde_json::from_value(browser.js(seqs)).unwrap();
    let mut expected: Vec<Value> = (1..=30).map(|s| json!(s)).collect();
    expected.push(json!("gap 50 evicted"));
    expected.extend((81..=130).map(|s| json!(s)));
    assert_eq!(got, expected);
    browser.keys("g");
    wait_row(
        &browser,
        "... 50 entries missed (no longer in server history)",
    );
    assert!(browser.text("counts").contains("gaps 1 (50 missed)"));
}

#[test]
fn hostile_log_content_shows_as_text_and_runs_nothing() {
    let _one = one_browser();
    let Some(browser) = Browser::launch() else {
        return;
    };
    let server = Server::start(&[]);
    let hostile = "<img src=x onerror=alert(1)>";
    server.post(&[json!({
        "timestamp": "2026-12-01T10:00:00.000Z",
        "level": "error",
        "source": "<b>api</b>",
        "message": hostile,
        "meta": {
            "note": "<script>window.pwned = 1</script>",
            "<img src=y onerror=window.pwned=2>": "<svg onload=window.pwned=3>",
        },
        "instance": "<iframe src=javascript:window.pwned=4>",
    })]);
    browser.goto(&format!("http://{}/", server.addr));
    wait_row(&browser, hostile);
    let row = &browser.rows()[0];
    assert!(row.contains("<b>api</b>"), "{row}");
    assert!(row.contains("<script>window.pwned = 1</script>"), "{row}");
    // Open the detail panel, where the meta is pretty-printed.
    browser.click("#log .r");
    browser.wait(
        "the detail panel",
        "return !document.getElementById('detail').hidden",
    );
    assert_eq!(browser.text("detail-message"), hostile);
    assert!(
        browser
            .text("detail-json")
            .contains("<svg onload=window.pwned=3>")
    );
    // Give an injected element every chance to load and fire.
    thread::sleep(Duration::from_millis(500));
    assert!(
        !browser.alert_open(),
        "an alert opened: log content ran as script"
    );
    let injected = browser.js(
        "return { pwned: window.pwned ?? null, elements: document.querySelectorAll('main img, main script, main svg, main iframe, main b, aside img, aside svg, aside script').length }",
    );
    assert_eq!(injected, json!({"pwned": null, "elements": 0}));
}

#[test]
fn bidi_overrides_and_tag_characters_show_as_escapes() {
    let _one = one_browser();
    let Some(browser) = Browser::launch() else {
        return;
    };
    let server = Server::start(&[]);
    // A right-to-left override that would make "exe.gnp" read "png.exe", and "hi" spelled in
    // invisible tag characters after the visible text.
    server.post(&[entry(
        "warn",
        "api",
        "invoice \u{202e}exe.gnp done\u{e0068}\u{e0069}",
    )]);
    browser.goto(&format!("http://{}/", server.addr));
    wait_row(&browser, "invoice");
    let row = &browser.rows()[0];
    assert!(row.contains("invoice \\u{202e}exe.gnp done"), "{row}");
    assert!(row.contains("\\u{e0068}\\u{e0069}"), "{row}");
    assert!(
        !row.contains('\u{e0068}'),
        "a tag character reached the page: {row:?}"
    );
    browser.click("#log .r");
    browser.wait(
        "the detail panel",
        "return !document.getElementById('detail').hidden",
    );
    let detail = browser.text("detail-message");
    assert!(
        detail.contains("\\u{202e}") && detail.contains("\\u{e0069}"),
        "{detail:?}"
    );
}

#[test]
fn a_server_with_a_token_asks_for_it_once_and_keeps_it_out_of_the_url() {
    let _one = one_browser();
    let Some(browser) = Browser::launch() else {
        return;
    };
    let server = Server::start(&["--token", "s3cret-token_1"]);
    server.post(&[entry("info", "api", "behind a token")]);
    browser.goto(&format!("http://{}/", server.addr));
    browser.wait(
        "the token prompt",
        "return document.getElementById('token-dialog').open",
    );
    assert!(browser.text("token-reason").contains("needs a token"));
    browser.type_into("#token", &format!("wrong-token{ENTER}"));
    browser.wait(
        "the token to be refused",
        "return document.getElementById('token-dialog').open && document.getElementById('token-reason').textContent.includes('refused')",
    );
    browser.type_into("#token", &format!("s3cret-token_1{ENTER}"));
    wait_row(&browser, "behind a token");
    assert!(
        !browser
            .js("return location.href")
            .as_str()
            .unwrap()
            .contains("s3cret")
    );
    assert_eq!(
        browser.js("return sessionStorage.getItem('vg.token')"),
        json!("s3cret-token_1")
    );
    // A reload in the same tab does not ask again.
    let here = browser.js("return location.href");
    browser.goto(here.as_str().unwrap());
    wait_row(&browser, "behind a token");
    assert_eq!(
        browser.js("return document.getElementById('token-dialog').open"),
        json!(false)
    );
}

#[test]
fn detail_request_pivot_time_window_and_export_show_what_they_say() {
    let _one = one_browser();
    let Some(browser) = Browser::launch() else {
        return;
    };
    let server = Server::start(&[]);
    let at = |time: &str, message: &str, rid: &str| {
        json!({"timestamp": format!("2026-12-01T{time}.000Z"), "level": "info", "source": "api",
               "message": message, "meta": {"requestId": rid, "status": 200}})
    };
    server.post(&[
        at("10:00:00", "early one", "req-a"),
        at("12:00:00", "late one", "req-a"),
        at("12:00:01", "late two", "req-b"),
        at("12:00:02", "late three", "req-a"),
    ]);
    browser.goto(&format!("http://{}/", server.addr));
    wait_row(&browser, "late three");

    // Enter opens the selected entry; the detail has its fields and pretty-printed meta.
    // From the live view the first `k` puts the cursor on the newest row, the second one above.
    browser.keys("G");
    browser.keys("kk");
    browser.keys(ENTER);
    browser.wait(
        "the detail panel",
        "return !document.getElementById('detail').hidden",
    );
    assert_eq!(browser.text("detail-message"), "late two");
    assert!(
        browser
            .text("detail-json")
            .contains("\"requestId\": \"req-b\"")
    );
    assert!(browser.text("detail-fields").contains("seq3"));
    // The requestId pivot: only that request's entries.
    browser.click("#detail-rid");
    browser.wait(
        "only req-b",
        "return document.querySelectorAll('#log .r:not([hidden])').length === 1",
    );
    assert!(
        browser
            .js("return location.hash")
            .as_str()
            .unwrap()
            .contains("rid=req-b")
    );
    browser.keys(ESCAPE); // closes the detail
    browser.keys(ESCAPE); // then the requestId filter
    browser.wait(
        "all again",
        "return document.querySelectorAll('#log .r:not([hidden])').length === 4",
    );

    // A time window is read from the server's history.
    browser.type_into("#since", "2026-12-01T11:00:00Z");
    browser.type_into("#until", &format!("2026-12-01T12:00:01Z{ENTER}"));
    browser.wait(
        "the window",
        "return document.querySelectorAll('#log .r:not([hidden])').length === 2",
    );
    let rows = browser.rows();
    assert!(
        rows[0].contains("late one") && rows[1].contains("late two"),
        "{rows:?}"
    );
    assert!(
        browser
            .js("return location.hash")
            .as_str()
            .unwrap()
            .contains("since=")
    );

    // Export: the current view as NDJSON, exactly the entries shown.
    browser.js("window.exported = []; const make = URL.createObjectURL;
         URL.createObjectURL = (blob) => { window.exported.push(blob); return make(blob); };");
    browser.click("#export");
    let text = browser.js("return window.exported[0].text()");
    let lines: Vec<Value> = text
        .as_str()
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["message"], "late one");
    assert_eq!(lines[1]["meta"]["requestId"], "req-b");
    assert_eq!(lines[1]["seq"], 3);
}

#[test]
fn region_picker_filters_and_none_also_hides_sources_first_seen_later() {
    let _one = one_browser();
    let Some(browser) = Browser::launch() else {
        return;
    };
    let server = Server::start(&[]);
    let mut from_ams = entry("info", "api", "from ams");
    from_ams["region"] = json!("ams");
    server.post(&[
        entry("info", "api", "from api"),
        entry("info", "db", "from db"),
        from_ams,
    ]);
    browser.goto(&format!("http://{}/", server.addr));
    wait_row(&browser, "from ams");
    browser.keys("s");
    browser.wait(
        "the picker",
        "return !document.getElementById('picker').hidden",
    );
    // Regions: entries without one are listed as (none).
    browser.click("#picker input[data-name='ams']");
    browser.wait(
        "ams hidden",
        "return document.querySelectorAll('#log .r:not([hidden])').length === 2",
    );
    browser.click("#picker input[data-name='(none)'][data-kind-list='region']");
    browser.wait(
        "regionless hidden too",
        "return document.querySelectorAll('#log .r:not([hidden])').length === 0",
    );
    browser.click("#picker input[data-name='(none)'][data-kind-list='region']");
    browser.click("#picker input[data-name='ams']");
    // The sources column's all/none: everything shown, so it hides all.
    browser.click("#picker-lists > div:first-child > button");
    browser.wait(
        "nothing shown",
        "return document.querySelectorAll('#log .r:not([hidden])').length === 0",
    );
    assert_eq!(browser.text("empty"), "no entries match the filters");
    server.post(&[entry("info", "billing", "from billing")]);
    browser.wait(
        "billing listed in the picker",
        "return !!document.querySelector('#picker input[data-name=billing]')",
    );
    assert_eq!(
        browser.js("return document.querySelectorAll('#log .r:not([hidden])').length"),
        json!(0),
        "a source first seen after 'none' starts hidden"
    );
    browser.click("#picker-lists > div:first-child > button");
    browser.wait(
        "all shown",
        "return document.querySelectorAll('#log .r:not([hidden])').length === 4",
    );
}
