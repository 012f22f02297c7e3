//! A WebDriver client for the few commands the dashboard's browser tests and benchmark use, over
//! plain HTTP/1.1 to a local chromedriver (a WebDriver crate would bring an HTTP client stack for a
//! dozen JSON requests), and `vg serve` run as a user runs it.

#![allow(
    dead_code,
    reason = "shared by tests/web_browser.rs and benches/web_dashboard.rs, each using a part"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long any one wait may take before the test fails (generous: a shared 2-core machine).
pub(crate) const WAIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Plain HTTP/1.1, enough for the driver and for posting entries.

/// Sends one request and returns the status and body. `Connection: close` keeps reading simple.
pub(crate) fn http(
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

pub(crate) fn dechunk(mut body: &str) -> String {
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

pub(crate) struct Server {
    pub(crate) child: Child,
    /// `127.0.0.1:PORT`
    pub(crate) addr: String,
    pub(crate) token: Option<String>,
}

impl Server {
    pub(crate) fn start(extra: &[&str]) -> Server {
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
    pub(crate) fn post(&self, entries: &[Value]) {
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

pub(crate) fn entry(level: &str, source: &str, message: &str) -> Value {
    json!({"timestamp": "2026-12-01T10:00:00.000Z", "level": level, "source": source, "message": message})
}

// ---------------------------------------------------------------------------------------------
// chromium through chromedriver.

pub(crate) const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// WebDriver's codes for special keys.
pub(crate) const ENTER: &str = "\u{E007}";
pub(crate) const ESCAPE: &str = "\u{E00C}";

pub(crate) struct Browser {
    pub(crate) driver: Child,
    pub(crate) addr: String,
    pub(crate) session: String,
    pub(crate) profile: PathBuf,
}

pub(crate) fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

pub(crate) fn find(var: &str, names: &[&str]) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(path) => Some(PathBuf::from(path)),
        None => on_path(names),
    }
}

impl Browser {
    /// A fresh headless chromium, or `None` (after saying why) when there is none to drive.
    pub(crate) fn launch() -> Option<Browser> {
        Browser::launch_with(&[])
    }

    /// As [`Browser::launch`], with more chromium flags.
    pub(crate) fn launch_with(extra: &[&str]) -> Option<Browser> {
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
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,1000",
        ]
        .iter()
        .chain(extra)
        .map(|a| (*a).to_owned())
        .collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": args,
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
    pub(crate) fn command(&self, method: &str, path: &str, body: &Value) -> Value {
        match self.try_command(method, path, body) {
            Ok(value) => value,
            Err(error) => panic!("WebDriver {method} {path}: {error}"),
        }
    }

    pub(crate) fn try_command(
        &self,
        method: &str,
        path: &str,
        body: &Value,
    ) -> Result<Value, Value> {
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

    pub(crate) fn session(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub(crate) fn goto(&self, url: &str) {
        self.command("POST", &self.session("/url"), &json!({ "url": url }));
    }

    /// Runs a script in the page (its body, with `return`), giving back its result.
    pub(crate) fn js(&self, script: &str) -> Value {
        self.command(
            "POST",
            &self.session("/execute/sync"),
            &json!({"script": script, "args": []}),
        )
    }

    /// Waits until the script returns something other than `null`/`false`, and returns it.
    pub(crate) fn wait(&self, what: &str, script: &str) -> Value {
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

    pub(crate) fn element(&self, css: &str) -> String {
        let found = self.command(
            "POST",
            &self.session("/element"),
            &json!({"using": "css selector", "value": css}),
        );
        found[ELEMENT_KEY].as_str().expect("an element").to_owned()
    }

    pub(crate) fn click(&self, css: &str) {
        let id = self.element(css);
        self.command(
            "POST",
            &self.session(&format!("/element/{id}/click")),
            &json!({}),
        );
    }

    /// Types into an element (it is focused first): text, or WebDriver key codes.
    pub(crate) fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.command(
            "POST",
            &self.session(&format!("/element/{id}/value")),
            &json!({ "text": text }),
        );
    }

    /// Presses keys in the log view, where the dashboard's shortcuts apply.
    pub(crate) fn keys(&self, text: &str) {
        self.type_into("#log", text);
    }

    /// The text of every row on screen, top to bottom.
    pub(crate) fn rows(&self) -> Vec<String> {
        let rows = self.js(
            "return [...document.querySelectorAll('#log .r:not([hidden])')]
               .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
               .map(r => r.textContent)",
        );
        serde_json::from_value(rows).unwrap_or_default()
    }

    pub(crate) fn text(&self, id: &str) -> String {
        self.js(&format!(
            "return document.getElementById({}).textContent",
            json!(id)
        ))
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Whether the page opened an alert (which would mean log content ran as script).
    pub(crate) fn alert_open(&self) -> bool {
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
