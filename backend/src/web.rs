//! The edge of every response: the CSRF check, security headers, session
//! cookie re-issue, request logs; and the built console with SPA fallback.

use std::path::{Path, PathBuf};
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::auth::csrf;
use crate::error::ApiError;
use crate::sessions::ReissueCookie;

/// Settings the edge needs, computed once at start-up.
#[derive(Debug, Clone)]
pub struct Edge {
    /// `VIGIL_PUBLIC_ORIGIN`, normalised.
    pub public_origin: Option<String>,
    /// The Content-Security-Policy header value.
    pub csp: String,
    /// Whether browsers reach Vigil over https (`VIGIL_PUBLIC_ORIGIN`):
    /// then every response carries HSTS.
    pub https: bool,
}

/// The CSP: nothing by default; then only this origin's scripts, styles,
/// images, fonts and connections — what the console uses. Wasm may compile
/// (`'wasm-unsafe-eval'`) but no `eval` and no inline script except the
/// exact inline scripts of the built index.html, allowed by hash.
pub fn content_security_policy(index_html: Option<&str>) -> String {
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
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'{}; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'",
        hashes.concat()
    )
}

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

/// The middleware at the edge of every request.
pub async fn edge(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let edge = req.app_data::<web::Data<Edge>>().cloned();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let check = csrf::check(
        req.method(),
        req.headers(),
        edge.as_ref().and_then(|e| e.public_origin.as_deref()),
    );
    let mut res = match check {
        Err(e) => req.error_response(e),
        // Handlers' errors arrive as responses; an Err here comes from
        // actix itself and is answered by it.
        Ok(()) => next.call(req).await?.map_into_boxed_body(),
    };
    if let Some(state) = res
        .request()
        .app_data::<web::Data<crate::state::AppState>>()
    {
        let route = res.request().match_pattern().unwrap_or_else(|| {
            if path.starts_with("/api/") {
                "/api/{unknown}".to_owned()
            } else {
                "/{console}".to_owned()
            }
        });
        state.metrics.request(&route, res.status().as_u16());
    }
    // A remember-me downgrade reaches the browser whatever the status, but a
    // response sets the session cookie at most once: when the handler set
    // (or cleared) it, that decision stands.
    let reissue = res.request().extensions().get::<ReissueCookie>().cloned();
    if let Some(ReissueCookie(cookie)) = reissue {
        let decided = res.response().cookies().any(|c| c.name() == cookie.name());
        if !decided {
            let _ = res.response_mut().add_cookie(&cookie);
        }
    }
    let headers = res.headers_mut();
    if let Some(edge) = &edge {
        if let Ok(v) = HeaderValue::from_str(&edge.csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if edge.as_ref().is_some_and(|e| e.https) {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    headers.insert(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if path.starts_with("/api/") || path == "/api" {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    tracing::info!(
        target: "vigil::http",
        %method,
        path,
        status = res.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    Ok(res)
}

/// Serves the built console from `dir`, falling back to index.html for
/// client-side routes.
pub fn console(dir: &Path) -> actix_files::Files {
    let index = dir.join("index.html");
    actix_files::Files::new("/", dir)
        .index_file("index.html")
        .prefer_utf8(true)
        .default_handler(web::to(move |req: HttpRequest| {
            spa_fallback(req, index.clone())
        }))
}

/// For unknown paths outside the API: index.html for GET and HEAD (the
/// console routes on the client), 405 otherwise.
pub async fn spa_fallback(req: HttpRequest, index: PathBuf) -> Result<HttpResponse, ApiError> {
    if req.path().starts_with("/api/") {
        return Err(ApiError::NotFound("no such API endpoint"));
    }
    if !matches!(
        *req.method(),
        actix_web::http::Method::GET | actix_web::http::Method::HEAD
    ) {
        return Err(ApiError::MethodNotAllowed);
    }
    match tokio::fs::read(&index).await {
        Ok(bytes) => Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(bytes)),
        Err(_) => Ok(HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body(format!(
                "The console is not built: {} is missing. Run `cargo xtask run`, or build it with trunk and set VIGIL_STATIC_DIR.\n",
                index.display()
            ))),
    }
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
        assert!(csp.contains("'sha256-"), "{csp}");
        assert!(csp.contains("'wasm-unsafe-eval'"));
        assert!(!csp.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.starts_with("default-src 'none';"), "{csp}");
    }
}
