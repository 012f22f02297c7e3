//! The web dashboard in a real browser: Debian's `chromium` driven through `chromedriver`
//! (WebDriver), against a real `vg serve`, entries sent with `POST /api/logs` as an app would.
//!
//! Without chromium and chromedriver these tests say so and pass, so `cargo test` works anywhere;
//! with `VG_REQUIRE_BROWSER=1` (set in CI) a missing browser fails them instead. `VG_CHROMIUM` and
//! `VG_CHROMEDRIVER` name other binaries.
//!
//! The WebDriver client is the few commands these tests use, over plain HTTP/1.1 to the local
//! driver: a WebDriver crate would bring an HTTP client stack for what is a dozen JSON requests.

#![cfg(all(feature = "server", feature = "cli"))]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long any one wait may take before the test fails (generous: a shared 2-core machine).
const WAIT: Duration = Duration::from_secs(30);

/// One browser at a time: each is a chromium with its own renderer processes, and the machines
/// that run the suite are small.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

// ---------------------------------------------------------------------------------------------
// Plain HTTP/1.1, enough for the driver and for posting entries.

/// Sends one request and returns the status and body. `Connection: close` keeps reading simple.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    // Read by Content-Length: chromedriver keeps the connection open despite `Connection: close`.
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let lower = head.to_ascii_lowercase();
    let length = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let mut raw = Vec::new();
    match length {
        Some(n) => {
            raw.resize(n, 0);
            reader.read_exact(&mut raw).unwrap();
        }
        None => {
            reader.read_to_end(&mut raw).unwrap();
        }
    }
    let body = String::from_utf8_lossy(&raw).into_owned();
    let body = if lower.contains("transfer-encoding: chunked") {
        dechunk(&body)
    } else {
        body
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// `vg serve`, the real binary.

struct Server {
    child: Child,
    /// `127.0.0.1:PORT`
    addr: String,
    token: Option<String>,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vg"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(extra)
            .env_remove("VG_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("vg serve starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let addr = loop {
            let line = rx
                .recv_timeout(WAIT)
                .expect("vg serve says where it listens");
            if let Some(at) = line.find("listening on http://") {
                break line[at + "listening on http://".len()..].trim().to_owned();
            }
        };
        let token = extra
            .iter()
            .position(|a| *a == "--token")
            .map(|i| extra[i + 1].to_owned());
        Server { child, addr, token }
    }

    /// Sends entries as an app would.
    fn post(&self, entries: &[Value]) {
        let body: String = entries.iter().map(|e| format!("{e}\n")).collect();
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/x-ndjson")];
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth));
        }
        let (status, answer) = http(&self.addr, "POST", "/api/logs", &headers, body.as_bytes());
        assert_eq!(status, 200, "{answer}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn entry(level: &str, source: &str, message: &str) -> Value {
    json!({"timestamp": "2026-12-01T10:00:00.000Z", "level": level, "source": source, "message": message})
}

// ---------------------------------------------------------------------------------------------
// chromium through chromedriver.

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// WebDriver's codes for special keys.
const ENTER: &str = "\u{E007}";
const ESCAPE: &str = "\u{E00C}";

struct Browser {
    driver: Child,
    addr: String,
    session: String,
    profile: PathBuf,
}

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn find(var: &str, names: &[&str]) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(path) => Some(PathBuf::from(path)),
        None => on_path(names),
    }
}

impl Browser {
    /// A fresh headless chromium, or `None` (after saying why) when there is none to drive.
    fn launch() -> Option<Browser> {
        let driver = find("VG_CHROMEDRIVER", &["chromedriver"]);
        let chromium = find(
            "VG_CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        );
        let (Some(driver), Some(chromium)) = (driver, chromium) else {
            let why = "chromium and chromedriver are needed for the browser tests (Debian: apt-get install chromium chromium-driver)";
            if std::env::var("VG_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!("VG_REQUIRE_BROWSER=1 but {why}");
            }
            eprintln!("skipping: {why}");
            return None;
        };
        let mut child = Command::new(&driver)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let port = loop {
            let line = rx.recv_timeout(WAIT).expect("chromedriver says its port");
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                break rest.trim_end_matches('.').trim().to_owned();
            }
        };
        static PROFILES: AtomicUsize = AtomicUsize::new(0);
        let profile = std::env::temp_dir().join(format!(
            "vg-web-test-{}-{}",
            std::process::id(),
            PROFILES.fetch_add(1, Ordering::Relaxed)
        ));
        let addr = format!("127.0.0.1:{port}");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let mut browser = Browser {
            driver: child,
            addr,
            session: String::new(),
            profile,
        };
        let answer = browser.command("POST", "/session", &capabilities);
        browser.session = answer["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        Some(browser)
    }

    /// One WebDriver command; panics with the driver's message on an error.
    fn command(&self, method: &str, path: &str, body: &Value) -> Value {
        match self.try_command(method, path, body) {
            Ok(value) => value,
            Err(error) => panic!("WebDriver {method} {path}: {error}"),
        }
    }

    fn try_command(&self, method: &str, path: &str, body: &Value) -> Result<Value, Value> {
        let body = if method == "GET" || method == "DELETE" {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        let (status, text) = http(
            &self.addr,
            method,
            path,
            &[("Content-Type", "application/json")],
            &body,
        );
        let mut value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let inner = value["value"].take();
        if status == 200 { Ok(inner) } else { Err(inner) }
    }

    fn session(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn goto(&self, url: &str) {
        self.command("POST", &self.session("/url"), &json!({ "url": url }));
    }

    /// Runs a script in the page (its body, with `return`), giving back its result.
    fn js(&self, script: &str) -> Value {
        self.command(
            "POST",
            &self.session("/execute/sync"),
            &json!({"script": script, "args": []}),
        )
    }

    /// Waits until the script returns something other than `null`/`false`, and returns it.
    fn wait(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let value = self.js(script);
            if !(value.is_null() || value == json!(false)) {
                return value;
            }
            if Instant::now() > deadline {
                let state = self.js("return document.getElementById('status')?.textContent");
                panic!("waited {WAIT:?} for {what}; status bar: {state}");
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn element(&self, css: &str) -> String {
        let found = self.command(
            "POST",
            &self.session("/element"),
            &json!({"using": "css selector", "value": css}),
        );
        found[ELEMENT_KEY].as_str().expect("an element").to_owned()
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.command(
            "POST",
            &self.session(&format!("/element/{id}/click")),
            &json!({}),
        );
    }

    /// Types into an element (it is focused first): text, or WebDriver key codes.
    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.command(
            "POST",
            &self.session(&format!("/element/{id}/value")),
            &json!({ "text": text }),
        );
    }

    /// Presses keys in the log view, where the dashboard's shortcuts apply.
    fn keys(&self, text: &str) {
        self.type_into("#log", text);
    }

    /// The text of every row on screen, top to bottom.
    fn rows(&self) -> Vec<String> {
        let rows = self.js(
            "return [...document.querySelectorAll('#log .r:not([hidden])')]
               .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
               .map(r => r.textContent)",
        );
        serde_json::from_value(rows).unwrap_or_default()
    }

    fn text(&self, id: &str) -> String {
        self.js(&format!(
            "return document.getElementById({}).textContent",
            json!(id)
        ))
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Whether the page opened an alert (which would mean log content ran as script).
    fn alert_open(&self) -> bool {
        self.try_command("GET", &self.session("/alert/text"), &Value::Null)
            .is_ok()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.try_command("DELETE", &self.session(""), &Value::Null);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

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
    // `n` selects a match.
    browser.keys("n");
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
    browser.keys(" ");
    wait_row(&browser, "while paused 3");
    assert!(browser.js("return document.getElementById('paused').hidden") == json!(true));
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
        "… 50 entries missed (no longer in server history)",
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
