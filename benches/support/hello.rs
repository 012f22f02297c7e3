//! The hello-world app the request-layer benches call in-process: one route, with and without
//! [`RequestLogLayer`], on a current-thread runtime, the logged one's history already full.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::Request;
use tower::ServiceExt;
use vg::server::{Emitter, EmitterConfig, RequestLogLayer};

/// The same router without and with the layer.
pub struct Hello {
    runtime: tokio::runtime::Runtime,
    pub plain: Router,
    pub logged: Router,
}

impl Hello {
    /// Builds both routers and fills the logged one's history, as in a running app: every request
    /// then also evicts (and frees) an old entry.
    pub fn new() -> Hello {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let emitter = Emitter::new(EmitterConfig::default().read_env(false));
        let plain = Router::new().route("/api/users/{id}", get(|| async { "hello\n" }));
        let logged = plain
            .clone()
            .layer(RequestLogLayer::new(emitter).source("api"));
        let hello = Hello {
            runtime,
            plain,
            logged,
        };
        for _ in 0..20_000 {
            hello.call(&hello.logged);
        }
        hello
    }

    /// One request through `router`, to its response.
    pub fn call(&self, router: &Router) {
        let request = Request::get("/api/users/42?page=2")
            .body(Body::empty())
            .expect("request");
        self.runtime
            .block_on(router.clone().oneshot(request))
            .expect("a response");
    }
}
