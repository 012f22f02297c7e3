//! A gateway in this process: called with `tower::ServiceExt::oneshot` where no socket is needed
//! (history queries, ingest, refusals, health), or served on `127.0.0.1:0` where the socket is the
//! point (WebSocket streaming, connection limits, keepalive, shutdown).

use std::net::SocketAddr;
use std::ops::Deref;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;
use vg::server::{Emitter, EmitterConfig, Gateway, GatewayConfig};
use vg::wire::Hello;

use super::{HttpResponse, Ws, connect, expect_hello, names_host, within};

/// An emitter config that ignores the environment, so tests do not depend on where they run.
pub fn emitter_config() -> EmitterConfig {
    EmitterConfig::default().read_env(false)
}

/// An emitter, a gateway serving it, and the app to call (the gateway's router, or an app with it
/// merged in). Nothing listens until [`TestApp::serve`].
pub struct TestApp {
    pub emitter: Emitter,
    pub gateway: Gateway,
    pub router: Router,
}

impl TestApp {
    /// A gateway alone, as `vg serve` runs it.
    pub fn new(emitter: EmitterConfig, config: GatewayConfig) -> TestApp {
        let emitter = Emitter::new(emitter);
        let gateway = Gateway::new(emitter.clone(), config);
        let router = gateway.router();
        TestApp {
            emitter,
            gateway,
            router,
        }
    }

    /// `router` (which should include the gateway's routes) with its emitter and gateway.
    pub fn with_router(emitter: Emitter, gateway: Gateway, router: Router) -> TestApp {
        TestApp {
            emitter,
            gateway,
            router,
        }
    }

    /// One request through the router, in-process; the reply's body read to the end.
    ///
    /// It carries what a real client's would: a `Host` (`127.0.0.1` unless `headers` name one; a
    /// tokenless gateway refuses a request without one it trusts) and a `Content-Length` (ingest
    /// refuses a declared length over its limit before reading the body).
    pub async fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        let mut request = Request::builder()
            .method(method)
            .uri(target)
            .header(header::CONTENT_LENGTH, body.len());
        if !names_host(headers) {
            request = request.header(header::HOST, "127.0.0.1");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Body::from(body.to_vec())).unwrap();
        let response = within("in-process request", self.router.clone().oneshot(request))
            .await
            .unwrap_or_else(|never| match never {});
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = value.to_str().expect("a text header value");
                (name.as_str().to_owned(), value.to_owned())
            })
            .collect();
        let body = within(
            "response body",
            axum::body::to_bytes(response.into_body(), usize::MAX),
        )
        .await
        .unwrap();
        HttpResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// Serves the router on `127.0.0.1:0` with [`vg::server::serve`].
    pub async fn serve(self) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(vg::server::serve(
            listener,
            self.router.clone(),
            self.gateway.clone(),
            async {
                let _ = stopped.await;
            },
        ));
        TestServer {
            addr,
            app: self,
            stop: Some(stop),
            task,
        }
    }
}

impl Default for TestApp {
    fn default() -> TestApp {
        TestApp::new(emitter_config(), GatewayConfig::default())
    }
}

/// A [`TestApp`] serving on a loopback port. It derefs to the app, so a test reaches the emitter
/// and gateway, and can still make in-process requests next to its socket ones.
pub struct TestServer {
    pub addr: SocketAddr,
    app: TestApp,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Deref for TestServer {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl TestServer {
    pub async fn start(emitter: EmitterConfig, config: GatewayConfig) -> TestServer {
        TestApp::new(emitter, config).serve().await
    }

    /// Serves `app` (which should include the gateway's router).
    pub async fn serve(emitter: Emitter, gateway: Gateway, app: Router) -> TestServer {
        TestApp::with_router(emitter, gateway, app).serve().await
    }

    pub async fn default() -> TestServer {
        TestApp::default().serve().await
    }

    pub fn ws_url(&self, query: &str) -> String {
        let mut url = format!("ws://{}/api/logs/stream", self.addr);
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        url
    }

    /// Connects and reads `hello`.
    pub async fn connect(&self, query: &str) -> (Ws, Hello) {
        let mut ws = connect(&self.ws_url(query)).await;
        let hello = expect_hello(&mut ws).await;
        (ws, hello)
    }

    /// Stops serving; resolves once `serve` has returned.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        within("server stop", &mut self.task)
            .await
            .unwrap()
            .unwrap();
    }
}
