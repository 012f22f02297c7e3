//! HTTPS and `wss://` end to end, between real processes on 127.0.0.1, with a CA and certificates
//! made by the test (rcgen): `vg serve --tls-cert/--tls-key` serving `vg logs --ca-cert` live and
//! history; the errors a user gets for a certificate for another name, one no CA they trust
//! signed, TLS to a plain server and plain HTTP to a TLS one; bad files at start; and SIGHUP
//! swapping the certificate for new connections while an open one carries on.

#![cfg(all(feature = "server", feature = "cli", unix))]

mod support;

use std::process::Stdio;
use std::sync::Arc;

use futures_util::StreamExt;
use rustls::pki_types::pem::PemObject as _;
use support::*;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A `vg serve` with TLS on a free loopback port, and its files.
struct TlsServer {
    process: VgProcess,
    port: u16,
    dir: TempDir,
}

impl TlsServer {
    /// Serves a certificate for `names` signed by `ca`.
    fn start(ca: &Ca, names: &[&str]) -> TlsServer {
        let dir = TempDir::new("tls");
        let (cert, key, _) = ca.server(names, "vg test server");
        let cert = dir.write("cert.pem", &cert);
        let key = dir.write("key.pem", &key);
        dir.write("ca.pem", &ca.pem());
        let process = VgProcess::spawn(&[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ]);
        let line = process.wait_stderr("listening on");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("https://"))
            .unwrap_or_else(|| panic!("no https:// URL in {line:?}"));
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        TlsServer { process, port, dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn url(&self, host: &str) -> String {
        format!("https://{host}:{}", self.port)
    }
}

/// An HTTPS client that trusts the test CA (and nothing else).
fn https_client(ca: &Ca) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap())
        .timeout(LIMIT)
        .build()
        .unwrap()
}

async fn post(client: &reqwest::Client, server: &TlsServer, ndjson: &str) {
    let reply = within(
        "POST over https",
        client
            .post(format!("{}/api/logs", server.url("localhost")))
            .body(ndjson.to_owned())
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(reply.status(), 200, "{:?}", reply.text().await);
}

/// `vg logs ARGS --timeout 15s`: what it printed on stderr (one string) and its exit code.
fn vg_logs_fails(args: &[&str], env: &[(&str, &str)]) -> (String, Option<i32>) {
    let output = vg()
        .arg("logs")
        .args(args)
        .args(["--timeout", "15s"])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status.code(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn vg_logs_with_ca_cert_streams_and_reads_history_over_tls() {
    let ca = Ca::new();
    let server = TlsServer::start(&ca, &["localhost", "127.0.0.1"]);
    let client = https_client(&ca);
    let ca_file = server.path("ca.pem");

    // Live over wss://, the CA given by flag.
    let wss = format!("wss://localhost:{}", server.port);
    let live = VgProcess::spawn(&[
        "logs",
        "--url",
        &wss,
        "--ca-cert",
        &ca_file,
        "-n",
        "0",
        "-v",
    ]);
    live.wait_stderr("connected");
    post(
        &client,
        &server,
        "{\"level\":\"info\",\"source\":\"api\",\"message\":\"first over tls\"}\n{\"level\":\"error\",\"source\":\"api\",\"message\":\"second over tls\"}\n",
    )
    .await;
    live.wait_stdout("first over tls");
    live.wait_stdout("second over tls");

    // History over https://, the CA given by VG_CA_CERT.
    let output = vg()
        .args([
            "logs",
            "--url",
            &server.url("127.0.0.1"),
            "--no-follow",
            "--json",
        ])
        .env("VG_CA_CERT", &ca_file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let messages: Vec<String> = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["message"].to_string())
        .collect();
    assert_eq!(messages, ["\"first over tls\"", "\"second over tls\""]);

    // And GET /api/logs, as any HTTPS client reads it.
    let reply = within(
        "GET over https",
        client
            .get(format!("{}/api/logs?level=error", server.url("localhost")))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(reply.status(), 200);
    let body = reply.text().await.unwrap();
    assert!(
        body.contains("second over tls") && !body.contains("first over tls"),
        "{body}"
    );
}

#[test]
fn a_certificate_for_another_name_or_from_an_unknown_ca_is_refused_clearly() {
    let ca = Ca::new();
    let server = TlsServer::start(&ca, &["vg.invalid"]);
    let ca_file = server.path("ca.pem");

    let (stderr, code) = vg_logs_fails(
        &["--url", &server.url("127.0.0.1"), "--ca-cert", &ca_file],
        &[],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("is for vg.invalid, not 127.0.0.1"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    // Without the CA: not trusted, and what to do about it.
    let (stderr, code) = vg_logs_fails(&["--url", &server.url("127.0.0.1")], &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("is not trusted") && stderr.contains("--ca-cert"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn tls_to_a_plain_server_and_plain_http_to_a_tls_one_say_which_to_use() {
    let ca = Ca::new();
    let tls = TlsServer::start(&ca, &["localhost", "127.0.0.1"]);
    let plain = VgProcess::spawn(&["serve", "--bind", "127.0.0.1:0"]);
    let plain_addr = announced_addr(&plain.wait_stderr("listening on"));

    let (stderr, code) = vg_logs_fails(&["--url", &format!("https://{plain_addr}")], &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("does not speak TLS"), "{stderr}");

    let (stderr, code) = vg_logs_fails(
        &[
            "--url",
            &format!("http://127.0.0.1:{}", tls.port),
            "--no-follow",
        ],
        &[],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("speaks HTTPS only: use https://"),
        "{stderr}"
    );
}

#[test]
fn bad_certificate_or_key_files_stop_serve_with_one_line_naming_the_file() {
    let ca = Ca::new();
    let dir = TempDir::new("tls-bad");
    let (cert, key, _) = ca.server(&["localhost"], "vg test server");
    let (_, other_key, _) = ca.server(&["localhost"], "another");
    let cert = dir.write("cert.pem", &cert);
    let key = dir.write("key.pem", &key);
    let other_key = dir.write("other-key.pem", &other_key);
    let empty = dir.write("empty.pem", "nothing here\n");
    let missing = dir
        .path()
        .join("missing.pem")
        .to_string_lossy()
        .into_owned();
    for (cert, key, says) in [
        (&missing, &key, format!("{missing}: cannot read it")),
        (&empty, &key, format!("{empty}: no certificate in it")),
        (
            &key,
            &cert,
            format!("{key}: holds a private key, not a certificate"),
        ),
        (&cert, &empty, format!("{empty}: no private key in it")),
        (
            &cert,
            &other_key,
            format!("{other_key}: this key does not belong to the certificate in {cert}"),
        ),
    ] {
        let output = vg()
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--tls-cert",
                cert,
                "--tls-key",
                key,
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&says), "{says}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
    // One without the other is a usage error too.
    let output = vg()
        .args(["serve", "--bind", "127.0.0.1:0", "--tls-cert", &cert])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--tls-key"));
}

/// The certificate a new TLS connection to `port` is served, checked against `ca`.
async fn served_certificate(ca: &Ca, port: u16) -> Vec<u8> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().into()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = within(
        "connect",
        tokio::net::TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = within("handshake", connector.connect(name, tcp))
        .await
        .unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_serves_a_new_certificate_to_new_connections_and_keeps_open_ones() {
    let ca = Ca::new();
    let server = TlsServer::start(&ca, &["localhost", "127.0.0.1"]);
    let first = std::fs::read(server.path("cert.pem")).unwrap();
    let first = rustls::pki_types::CertificateDer::from_pem_slice(&first).unwrap();
    assert_eq!(served_certificate(&ca, server.port).await, first.to_vec());

    // A viewer connected before the reload.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().into()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let request = format!("wss://localhost:{}/api/logs/stream?tail=0", server.port)
        .into_client_request()
        .unwrap();
    let (mut viewer, _) = within(
        "wss connect",
        tokio_tungstenite::connect_async_tls_with_config(
            request,
            None,
            true,
            Some(tokio_tungstenite::Connector::Rustls(Arc::new(config))),
        ),
    )
    .await
    .unwrap();

    // New files in place, then SIGHUP.
    let (cert, key, second) = ca.server(&["localhost", "127.0.0.1"], "renewed");
    std::fs::write(server.path("cert.pem"), cert).unwrap();
    std::fs::write(server.path("key.pem"), key).unwrap();
    let hup = |pid: u32| {
        let status = std::process::Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };
    hup(server.process.id());
    server.process.wait_stderr("reloaded the TLS certificate");
    assert_eq!(served_certificate(&ca, server.port).await, second);

    // The viewer from before is still served.
    post(
        &https_client(&ca),
        &server,
        "{\"message\":\"after the reload\"}\n",
    )
    .await;
    let received = within("the entry on the open connection", async {
        while let Some(frame) = viewer.next().await {
            if let Message::Text(text) = frame.unwrap()
                && text.contains("after the reload")
            {
                return true;
            }
        }
        false
    })
    .await;
    assert!(received, "the open connection ended");

    // A bad key on the next reload keeps the certificate in force, and says why.
    std::fs::write(server.path("key.pem"), "not a key\n").unwrap();
    hup(server.process.id());
    let line = server.process.wait_stderr("TLS not reloaded");
    assert!(
        line.contains("key.pem: no private key in it")
            && line.contains("the previous certificate stays in use"),
        "{line}"
    );
    assert_eq!(served_certificate(&ca, server.port).await, second);
}

#[test]
fn a_slow_handshake_is_cut_off_at_the_header_timeout() {
    use std::io::Read as _;
    let ca = Ca::new();
    let dir = TempDir::new("tls-slow");
    let (cert, key, _) = ca.server(&["localhost"], "vg test server");
    let cert = dir.write("cert.pem", &cert);
    let key = dir.write("key.pem", &key);
    let server = VgProcess::spawn(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--header-timeout",
        "1s",
    ]);
    let line = server.wait_stderr("listening on");
    let port: u16 = line
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .and_then(|u| u.rsplit(':').next())
        .unwrap()
        .parse()
        .unwrap();
    // The start of a ClientHello record, and then nothing.
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    std::io::Write::write_all(&mut tcp, &[0x16, 0x03, 0x01]).unwrap();
    tcp.set_read_timeout(Some(LIMIT)).unwrap();
    // Closed by the server (an end or a reset), not left waiting until the read gives up.
    let mut rest = Vec::new();
    match tcp.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) => assert!(
            !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "the server held a silent handshake open for {LIMIT:?}"
        ),
    }
}
