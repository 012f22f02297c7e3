//! The web dashboard's routes as HTTP sees them: types, caching, gzip, the security policy and the
//! prefix an app chooses. (What the page does in a browser is `tests/web_browser.rs`.)

#![cfg(feature = "server")]

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, Response, StatusCode, header};
use tower::ServiceExt;
use vg::server::{Emitter, EmitterConfig, Gateway, GatewayConfig};

fn gateway(config: GatewayConfig) -> Router {
    Gateway::new(
        Emitter::new(EmitterConfig::default().read_env(false)),
        config,
    )
    .router()
}

async fn get(app: &Router, path: &str, headers: &[(&str, &str)]) -> (Response<Body>, Vec<u8>) {
    let mut request = Request::get(path).header(header::HOST, "127.0.0.1:7007");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, 1 << 22).await.unwrap().to_vec();
    (Response::from_parts(parts, Body::empty()), bytes)
}

fn header(response: &Response<Body>, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(&name)
        .map_or("", |v| v.to_str().unwrap())
}

/// The asset directory the page links to, e.g. `assets/0123abcd/`.
fn asset_dir(page: &str) -> String {
    let start = page.find("assets/").expect("the page links its assets");
    let end = start + page[start + 7..].find('/').unwrap() + 8;
    page[start..end].to_owned()
}

#[tokio::test]
async fn the_page_is_served_with_its_type_a_tag_and_a_policy_against_injected_script() {
    let app = gateway(GatewayConfig::default());
    let (page, body) = get(&app, "/logs/", &[]).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        header(&page, header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert_eq!(header(&page, header::CACHE_CONTROL), "no-cache");
    let csp = header(&page, header::CONTENT_SECURITY_POLICY);
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains('*'));
    assert_eq!(header(&page, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains(r#"<meta name="vg-root" content="../">"#));

    // Revalidation: the same tag gets 304 and no body.
    let tag = header(&page, header::ETAG).to_owned();
    assert!(tag.starts_with('"'));
    let (again, body) = get(&app, "/logs/", &[("if-none-match", &tag)]).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());

    // `/logs` leads to `/logs/`, relatively, so it holds under a nesting app's path too.
    let (bare, _) = get(&app, "/logs", &[]).await;
    assert_eq!(bare.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(&bare, header::LOCATION), "logs/");
}

#[tokio::test]
async fn assets_are_versioned_cached_for_good_and_gzipped_when_asked() {
    let app = gateway(GatewayConfig::default());
    let (_, page) = get(&app, "/logs/", &[]).await;
    let dir = asset_dir(&String::from_utf8(page).unwrap());
    let mut total = (0, 0);
    // Every module the page loads, following imports, so a file missing from the build shows here.
    let mut todo = vec![
        "app.js".to_owned(),
        "style.css".to_owned(),
        "icon.svg".to_owned(),
    ];
    let mut seen = Vec::new();
    while let Some(name) = todo.pop() {
        if seen.contains(&name) {
            continue;
        }
        let path = format!("/logs/{dir}{name}");
        let (plain, body) = get(&app, &path, &[]).await;
        assert_eq!(plain.status(), StatusCode::OK, "{path}");
        let expected = match name.rsplit('.').next() {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            _ => "image/svg+xml",
        };
        assert_eq!(header(&plain, header::CONTENT_TYPE), expected);
        assert_eq!(
            header(&plain, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(header(&plain, header::VARY), "Accept-Encoding");
        let (zipped, gz) = get(&app, &path, &[("accept-encoding", "gzip, br")]).await;
        assert_eq!(header(&zipped, header::CONTENT_ENCODING), "gzip");
        assert_eq!(header(&zipped, header::ETAG), header(&plain, header::ETAG));
        let inflated = miniz_oxide::inflate::decompress_to_vec(&gz[10..gz.len() - 8]).unwrap();
        assert_eq!(inflated, body, "{name} gzipped is {name}");
        total = (total.0 + body.len(), total.1 + gz.len());
        let text = String::from_utf8(body).unwrap();
        for import in text.split("from \"./").skip(1) {
            todo.push(import.split('"').next().unwrap().to_owned());
        }
        seen.push(name);
    }
    assert!(seen.len() >= 7, "{seen:?}");
    eprintln!("dashboard assets: {} bytes, {} gzipped", total.0, total.1);

    let (missing, _) = get(&app, &format!("/logs/{dir}nope.js"), &[]).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // A page from another build names another version: served, but not cached for good.
    let (stale, _) = get(&app, "/logs/assets/000000000000/app.js", &[]).await;
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(header(&stale, header::CACHE_CONTROL), "no-cache");
}

#[tokio::test]
async fn the_prefix_is_the_apps_choice_and_the_page_finds_the_api_from_it() {
    let app = gateway(GatewayConfig::default().dashboard("/ops/logs"));
    let (page, body) = get(&app, "/ops/logs/", &[]).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains(r#"content="../../""#)
    );
    let (gone, _) = get(&app, "/logs/", &[]).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);

    let root = gateway(GatewayConfig::default().dashboard("/"));
    let (page, body) = get(&root, "/", &[]).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(String::from_utf8(body).unwrap().contains(r#"content="./""#));

    // Nested under an app's path, the page's relative root still leads to the nested API.
    let nested = Router::new().nest("/admin", gateway(GatewayConfig::default()));
    let (page, _) = get(&nested, "/admin/logs/", &[]).await;
    assert_eq!(page.status(), StatusCode::OK);
    let (api, _) = get(&nested, "/admin/api/logs?limit=0", &[]).await;
    assert_eq!(api.status(), StatusCode::OK);

    let none = gateway(GatewayConfig::default().no_dashboard());
    let (page, _) = get(&none, "/logs/", &[]).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
}
