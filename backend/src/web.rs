//! The edge of every response: the request id, the CSRF check, security
//! headers, session cookie re-issue, request logs and metrics. The
//! console's files: [`crate::assets`].

use std::borrow::Cow;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use base64::Engine;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::auth::csrf;
use crate::metrics::RouteLabel;
use crate::sessions::ReissueCookie;

/// Settings the edge needs, computed once at start-up.
#[derive(Debug, Clone)]
pub struct Edge {
    /// `VIGIL_PUBLIC_ORIGIN`, normalised.
    pub public_origin: Option<String>,
    /// The Content-Security-Policy header, built once.
    pub csp: HeaderValue,
    /// Whether browsers reach Vigil over https (`VIGIL_PUBLIC_ORIGIN`):
    /// then every response carries HSTS.
    pub https: bool,
}

/// The CSP: nothing by default; then only this origin's scripts, styles,
/// images, fonts and connections — what the console uses. Wasm may compile
/// (`'wasm-unsafe-eval'`) but no `eval` and no inline script except the
/// exact inline scripts of the built index.html, allowed by hash.
pub fn content_security_policy(index_html: Option<&str>) -> HeaderValue {
    let hashes: Vec<String> = index_html
        .map(inline_scripts)
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let digest = Sha256::digest(s.as_bytes());
            format!(
                " 'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .collect();
    let policy = format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'{}; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'",
        hashes.concat()
    );
    // Always valid (ASCII and base64); were it not, the strictest policy
    // rather than none.
    HeaderValue::try_from(policy).unwrap_or(HeaderValue::from_static("default-src 'none'"))
}

/// Headers every response carries, the same on each: built at compile time
/// (a clone of a static `HeaderValue` copies a pointer).
static SECURITY_HEADERS: [(HeaderName, HeaderValue); 4] = [
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    ),
];

/// HSTS, when browsers reach Vigil over https.
static HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");

/// API responses are never cached.
static NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// Bodies of `<script>` elements without a `src` attribute.
fn inline_scripts(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<script").map(|i| i + at) {
        let Some(tag_end) = lower[start..].find('>').map(|i| i + start) else {
            break;
        };
        let Some(close) = lower[tag_end..].find("</script>").map(|i| i + tag_end) else {
            break;
        };
        let tag = &lower[start..tag_end];
        if !tag.contains(" src=") {
            out.push(html[tag_end + 1..close].to_owned());
        }
        at = close + "</script>".len();
    }
    out
}

/// The request's id, in the request's extensions for handlers.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The header that carries it, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// Whether a proxy's request id may be taken as it is: 1 to 128 visible
/// characters from a conservative set (a UUID, a trace id, a ULID…).
pub fn valid_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'+' | b'=')
        })
}

/// The id of this request: a trusted proxy's `X-Request-Id` when it is
/// valid, else a new random one.
fn request_id(req: &ServiceRequest, trusted: Option<&crate::net::Networks>) -> String {
    let from_proxy = req
        .peer_addr()
        .zip(trusted)
        .is_some_and(|(peer, trusted)| trusted.contains(peer.ip()));
    if from_proxy {
        if let Some(id) = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|id| valid_request_id(id))
        {
            return id.to_owned();
        }
    }
    // Unique enough to find log lines, and cheap: this runs on every
    // request, so no system call (the thread's generator, not the OS's).
    format!("{:016x}", rand::random::<u64>())
}

/// Adds `request_id` to a 5xx JSON error body, so a person's error can be
/// found in the logs.
async fn with_request_id(res: ServiceResponse<BoxBody>, id: &str) -> ServiceResponse<BoxBody> {
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
    let mut value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        serde_json::json!({"error": "internal", "message": "Something went wrong on our side."})
    });
    if let Some(map) = value.as_object_mut() {
        map.insert("request_id".into(), id.into());
    }
    let body = serde_json::to_vec(&value).unwrap_or_default();
    let mut res = head.set_body(BoxBody::new(body));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    ServiceResponse::new(req, res)
}

/// The middleware at the edge of every request: everything it and the
/// handler log happens in a `request` span that carries the request id.
pub async fn edge(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let trusted = req
        .app_data::<web::Data<crate::state::AppState>>()
        .map(|s| &s.config.trusted_proxies);
    let id = request_id(&req, trusted);
    let span = tracing::info_span!("request", request_id = %id);
    // The response header, built once; the id itself goes to the handlers.
    // Always valid: ids are hex or checked by `valid_request_id`.
    let header = HeaderValue::from_str(&id).ok();
    req.extensions_mut().insert(RequestId(id));
    // Boxed: this future is part of every open connection's state in
    // actix-http (a live channel holds its connection for hours), and its
    // inner states are large; boxed, each connection carries a pointer.
    Box::pin(handle(req, next, header).instrument(span)).await
}

/// The header that carries the request id.
static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static(REQUEST_ID);

async fn handle(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    id: Option<HeaderValue>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    // An encoded NUL character names nothing and filters nothing: no stored
    // text holds one, and PostgreSQL refuses it in any text parameter (a
    // 500 had it gone through). Refused here, the same on both databases:
    // in the path a 404 (no such resource), in the query a 400.
    let check = if req.path().contains("%00") {
        Err(crate::error::ApiError::NotFound(
            "no such resource: no name holds a NUL character (%00)",
        ))
    } else if req.query_string().contains("%00") {
        Err(crate::error::ApiError::bad_request(
            "The query holds a NUL character (%00), which no value may contain.",
        ))
    } else if csrf::exempt(req.path(), req.headers()) {
        Ok(())
    } else {
        csrf::check(
            req.method(),
            req.headers(),
            req.app_data::<web::Data<Edge>>()
                .and_then(|e| e.public_origin.as_deref()),
        )
    };
    let mut res = match check {
        Err(e) => req.error_response(e),
        // Handlers' errors arrive as responses; an Err here comes from
        // actix itself and is answered by it.
        Ok(()) => next.call(req).await?.map_into_boxed_body(),
    };
    if res.status().is_server_error() {
        if let Some(id) = id.as_ref().and_then(|v| v.to_str().ok()) {
            res = with_request_id(res, id).await;
        }
    }
    // A second handle on the request (a reference count, not a copy), so
    // its path, settings and extensions can be read while the response
    // changes.
    let request = res.request().clone();
    let path = request.path();
    let status = res.status();
    if let Some(state) = request.app_data::<web::Data<crate::state::AppState>>() {
        let route: Cow<'static, str> = match request.app_data::<RouteLabel>() {
            // Every resource in the route table: its pattern, borrowed.
            Some(RouteLabel(route)) => Cow::Borrowed(route),
            // No resource was reached: an unknown API path, or one refused
            // before routing (the CSRF check), which still has a pattern.
            None if path.starts_with("/api/") => request
                .match_pattern()
                .map_or(Cow::Borrowed("/api/{unknown}"), Cow::Owned),
            None => Cow::Borrowed("/{console}"),
        };
        state
            .sessions
            .metrics
            .request(route, status.as_u16(), started.elapsed());
    }
    // A remember-me downgrade reaches the browser whatever the status, but a
    // response sets the session cookie at most once: when the handler set
    // (or cleared) it, that decision stands.
    if let Some(ReissueCookie(cookie)) = request.extensions().get::<ReissueCookie>() {
        let decided = res.response().cookies().any(|c| c.name() == cookie.name());
        if !decided {
            let _ = res.response_mut().add_cookie(cookie);
        }
    }
    let edge = request.app_data::<web::Data<Edge>>();
    let headers = res.headers_mut();
    if let Some(id) = id {
        headers.insert(REQUEST_ID_HEADER.clone(), id);
    }
    if let Some(edge) = edge {
        headers.insert(header::CONTENT_SECURITY_POLICY, edge.csp.clone());
        if edge.https {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, HSTS.clone());
        }
    }
    for (name, value) in &SECURITY_HEADERS {
        headers.insert(name.clone(), value.clone());
    }
    if path.starts_with("/api/") || path == "/api" {
        headers.insert(header::CACHE_CONTROL, NO_STORE.clone());
    }
    tracing::info!(
        target: "vigil::http",
        method = %request.method(),
        path,
        status = status.as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_hashed_and_external_ones_are_not() {
        let html = r#"<html><head><script src="/app.js"></script><script type="module">import init from '/a.js';init();</script></head></html>"#;
        assert_eq!(
            inline_scripts(html),
            vec!["import init from '/a.js';init();".to_owned()]
        );
        let csp = content_security_policy(Some(html));
        let csp = csp.to_str().unwrap();
        assert!(csp.contains("'sha256-"), "{csp}");
        assert!(csp.contains("'wasm-unsafe-eval'"));
        assert!(!csp.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.starts_with("default-src 'none';"), "{csp}");
    }

    #[test]
    fn proxy_request_ids_are_taken_only_when_plain() {
        assert!(valid_request_id("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert!(valid_request_id("req-1:2/3+4=5_6.7"));
        for bad in ["", "has space", "semi;colon", "quote\"", "é"] {
            assert!(!valid_request_id(bad), "{bad:?}");
        }
        assert!(!valid_request_id(&"a".repeat(129)));
    }

    /// Captures log output for one test.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[actix_web::test]
    async fn every_log_line_of_a_request_carries_its_id() {
        use actix_web::middleware::from_fn;
        use actix_web::{test, HttpResponse};
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = test::init_service(actix_web::App::new().wrap(from_fn(edge)).route(
            "/x",
            web::get().to(|| async {
                tracing::info!("inside the handler");
                HttpResponse::Ok().finish()
            }),
        ))
        .await;
        let res = test::call_service(&app, test::TestRequest::get().uri("/x").to_request()).await;
        let id = res
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(id.len(), 16);
        let text = String::from_utf8(captured.0.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() >= 2, "{text}");
        for line in lines {
            assert!(line.contains(&format!("request_id={id}")), "{line}");
        }
    }
}
