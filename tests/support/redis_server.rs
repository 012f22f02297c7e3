//! A real `redis-server` on a free loopback port in a temp dir, with nothing saved to disk; stopped
//! when dropped. Without the program the tests that need it say so and skip, unless
//! `VG_REQUIRE_REDIS=1` (set in CI) makes that a failure.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{LIMIT, TempDir};

/// A running `redis-server`.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    /// With TLS: its port, and the certificate, key and CA files it serves with.
    tls: Option<(u16, [String; 3])>,
    dir: TempDir,
}

impl RedisServer {
    /// A new server on a free port, or `None` (after saying why) when `redis-server` is missing.
    pub fn start() -> Option<RedisServer> {
        RedisServer::start_with(None)
    }

    /// [`RedisServer::start`] also serving TLS on a port of its own, with the certificate, key and
    /// CA in these PEM files (clients need not present one); the plain port stays for the test's
    /// own commands.
    pub fn start_tls(cert: &str, key: &str, ca: &str) -> Option<RedisServer> {
        RedisServer::start_with(Some([cert.to_owned(), key.to_owned(), ca.to_owned()]))
    }

    fn start_with(tls: Option<[String; 3]>) -> Option<RedisServer> {
        if !installed() {
            let why =
                "redis-server is needed for the Redis tests (Debian: apt-get install redis-server)";
            if std::env::var("VG_REQUIRE_REDIS").as_deref() == Ok("1") {
                panic!("VG_REQUIRE_REDIS=1 but {why}");
            }
            eprintln!("skipping: {why}");
            return None;
        }
        let port = free_port();
        let mut server = RedisServer {
            child: None,
            port,
            tls: tls.map(|files| (free_port(), files)),
            dir: TempDir::new("redis"),
        };
        server.restart();
        Some(server)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `rediss://localhost:TLS_PORT` (the certificate must name `localhost`).
    pub fn tls_url(&self) -> String {
        let (port, _) = self.tls.as_ref().expect("started with start_tls");
        format!("rediss://localhost:{port}")
    }

    /// Kills the server at once (what it held is gone: nothing is saved).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty, and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        let mut command = Command::new("redis-server");
        if let Some((port, [cert, key, ca])) = &self.tls {
            command
                .args(["--tls-port", &port.to_string()])
                .args(["--tls-cert-file", cert, "--tls-key-file", key])
                .args(["--tls-ca-cert-file", ca, "--tls-auth-clients", "no"]);
        }
        let child = command
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Ok(mut c) = self.connection_once()
                && redis::cmd("PING").query::<String>(&mut c).is_ok()
            {
                return;
            }
            assert!(Instant::now() < deadline, "redis-server never answered");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn connection_once(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(self.url())?.get_connection_with_timeout(Duration::from_secs(2))
    }

    /// A plain connection for the test's own commands.
    pub fn connection(&self) -> redis::Connection {
        self.connection_once()
            .expect("cannot connect to redis-server")
    }

    /// Every record of `stream`, oldest first, as (id, fields).
    pub fn records(
        &self,
        stream: &str,
    ) -> Vec<(String, std::collections::HashMap<String, String>)> {
        let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(stream)
            .arg("-")
            .arg("+")
            .query(&mut self.connection())
            .unwrap();
        reply
            .ids
            .into_iter()
            .map(|id| {
                let fields = id
                    .map
                    .iter()
                    .map(|(k, v)| (k.clone(), redis::from_redis_value_ref::<String>(v).unwrap()))
                    .collect();
                (id.id, fields)
            })
            .collect()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn installed() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A port free right now (the kernel's choice for port 0, released for redis-server to take).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
