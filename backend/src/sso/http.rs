//! openidconnect's HTTP client trait over [`Outbound`]: every request the
//! relying party makes (discovery, keys, token, userinfo) follows the
//! outbound rules.

use std::future::Future;
use std::pin::Pin;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

use crate::outbound::{Outbound, OutboundError};

/// [`Outbound`] as openidconnect's HTTP client.
#[derive(Debug, Clone, Copy)]
pub struct OidcHttp<'a>(pub &'a Outbound);

impl<'c> AsyncHttpClient<'c> for OidcHttp<'_> {
    type Error = OutboundError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, OutboundError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        let outbound = self.0;
        Box::pin(async move {
            let answer = outbound.send(request).await?;
            let mut response = http::Response::builder().status(answer.status);
            if let Some(ct) = &answer.content_type {
                response = response.header(http::header::CONTENT_TYPE, ct);
            }
            response
                .body(answer.body)
                .map_err(|e| OutboundError::Failed(format!("unreadable answer: {e}")))
        })
    }
}
