//! Requests Vigil makes because an admin said where to: an identity
//! provider's discovery document, keys and token endpoint (and later,
//! webhooks). An account admin must not be able to make the server reach
//! inside its own network, so every request here:
//!
//! - goes over https to an address that is public: not loopback, private,
//!   link-local (cloud metadata lives there), shared, multicast, reserved
//!   or unspecified; unless ops list the destination's network in
//!   `VIGIL_OUTBOUND_ALLOW`, which also allows plain http to it;
//! - connects only to addresses vetted after name resolution (the
//!   resolver itself refuses the others, so a name cannot resolve to a
//!   public address when checked and an internal one when connected);
//! - gives up after [`TIMEOUT`], follows redirects only within the same
//!   origin (at most three), and reads at most [`BODY_LIMIT`] bytes.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use crate::net::Networks;

/// Longest an outbound request may take, start to end.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Most bytes read from an answer.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Why an outbound request was refused or failed, in words an admin can act
/// on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The URL breaks the rules above.
    #[error("{0}")]
    NotAllowed(String),
    /// Could not be reached, or answered in a way we do not accept.
    #[error("{0}")]
    Failed(String),
}

/// Networks nobody may reach from here without ops' say-so.
fn internal() -> &'static [IpNet] {
    static NETS: OnceLock<Vec<IpNet>> = OnceLock::new();
    NETS.get_or_init(|| {
        [
            "0.0.0.0/8",
            "10.0.0.0/8",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "172.16.0.0/12",
            "192.0.0.0/24",
            "192.0.2.0/24",
            "192.168.0.0/16",
            "198.18.0.0/15",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "224.0.0.0/3",
            "::/127",
            "64:ff9b::/96",
            "100::/64",
            "2001:db8::/32",
            "fc00::/7",
            "fe80::/10",
            "ff00::/8",
        ]
        .iter()
        .filter_map(|n| n.parse().ok())
        .collect()
    })
}

/// Whether `ip` is an internal address (IPv4-mapped IPv6 judged as IPv4).
pub fn is_internal(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    internal().iter().any(|net| net.contains(&ip))
}

/// The outbound rules with the networks ops allow.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    allow: Arc<Networks>,
}

impl Rules {
    /// Rules allowing `allow` on top of the public internet.
    pub fn new(allow: Networks) -> Rules {
        Rules {
            allow: Arc::new(allow),
        }
    }

    /// Whether the server may connect to `ip`.
    pub fn may_reach(&self, ip: IpAddr) -> bool {
        self.allow.contains(ip) || !is_internal(ip)
    }

    /// Whether ops allow `ip` explicitly (then http is allowed too).
    pub fn allowed(&self, ip: IpAddr) -> bool {
        self.allow.contains(ip)
    }

    /// Whether a plain-http destination could be allowed at all.
    pub fn allows_any(&self) -> bool {
        !self.allow.is_empty()
    }

    /// Checks a URL before any request: its scheme, and the addresses its
    /// host resolves to now (the connection is checked again by the
    /// resolver).
    pub async fn check(&self, url: &Url) -> Result<(), OutboundError> {
        let host = url
            .host_str()
            .ok_or_else(|| OutboundError::NotAllowed(format!("{url} names no host")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(OutboundError::NotAllowed(
                "URLs with credentials in them are not used".into(),
            ));
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs = resolve(host, port).await?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return Err(OutboundError::NotAllowed(format!(
                    "{other}:// is not used; only https://"
                )))
            }
        };
        for addr in &addrs {
            if !https && !self.allowed(addr.ip()) {
                return Err(OutboundError::NotAllowed(format!(
                    "{host} must be reached over https (plain http only to networks ops list in VIGIL_OUTBOUND_ALLOW)"
                )));
            }
            if !self.may_reach(addr.ip()) {
                return Err(OutboundError::NotAllowed(format!(
                    "{host} is an internal address ({}); ops can allow its network with VIGIL_OUTBOUND_ALLOW",
                    addr.ip()
                )));
            }
        }
        Ok(())
    }
}

/// Resolves `host` (a name or an address literal).
async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, OutboundError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| OutboundError::Failed(format!("cannot resolve {host}: {e}")))?
        .collect();
    if addrs.is_empty() {
        return Err(OutboundError::Failed(format!("{host} has no address")));
    }
    Ok(addrs)
}

/// The resolver the client connects through: names resolve only to
/// addresses the rules let the server reach.
#[derive(Debug)]
struct VettedResolver {
    rules: Rules,
}

impl Resolve for VettedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let rules = self.rules.clone();
        Box::pin(async move {
            let addrs = resolve(name.as_str(), 0).await?;
            let vetted: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| rules.may_reach(a.ip()))
                .collect();
            if vetted.is_empty() {
                return Err(
                    format!("{} resolves only to internal addresses", name.as_str()).into(),
                );
            }
            Ok(Box::new(vetted.into_iter()) as Addrs)
        })
    }
}

/// An answer, read up to [`BODY_LIMIT`].
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Content type, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// The HTTP client for outbound requests. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbound {
    client: reqwest::Client,
    rules: Rules,
}

impl Outbound {
    /// A client that follows `rules`.
    pub fn new(rules: Rules) -> anyhow::Result<Outbound> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                let same_origin = attempt
                    .previous()
                    .first()
                    .is_some_and(|first| first.origin() == attempt.url().origin());
                if attempt.previous().len() > 3 || !same_origin {
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            }))
            .dns_resolver(Arc::new(VettedResolver {
                rules: rules.clone(),
            }))
            .user_agent(concat!("Vigil/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Outbound { client, rules })
    }

    /// The rules this client follows.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Sends a request after checking its URL; reads the answer up to
    /// [`BODY_LIMIT`]. Any status is an answer; the caller judges it.
    pub async fn send(&self, request: http::Request<Vec<u8>>) -> Result<Answer, OutboundError> {
        let url = Url::parse(&request.uri().to_string())
            .map_err(|e| OutboundError::NotAllowed(format!("not a URL: {e}")))?;
        self.rules.check(&url).await?;
        let (parts, body) = request.into_parts();
        let mut builder = self.client.request(parts.method, url.clone());
        for (name, value) in &parts.headers {
            builder = builder.header(name, value);
        }
        let host = url.host_str().unwrap_or_default().to_owned();
        let mut res = builder.body(body).send().await.map_err(|e| {
            OutboundError::Failed(if e.is_timeout() {
                format!("{host} did not answer within {} seconds", TIMEOUT.as_secs())
            } else if e.is_redirect() {
                format!("{host} redirected elsewhere")
            } else {
                format!("cannot reach {host}: {}", root_cause(&e))
            })
        })?;
        if res.status().is_redirection() {
            return Err(OutboundError::Failed(format!(
                "{host} redirected to another site, which is not followed"
            )));
        }
        if res.content_length().is_some_and(|n| n > BODY_LIMIT as u64) {
            return Err(too_large(&host));
        }
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        loop {
            let chunk = res.chunk().await.map_err(|e| {
                OutboundError::Failed(if e.is_timeout() {
                    format!(
                        "{host} did not finish answering within {} seconds",
                        TIMEOUT.as_secs()
                    )
                } else {
                    format!("reading from {host} failed: {}", root_cause(&e))
                })
            })?;
            let Some(chunk) = chunk else { break };
            if body.len() + chunk.len() > BODY_LIMIT {
                return Err(too_large(&host));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }

    /// GETs `url` and decodes a JSON answer with status 200.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<T, OutboundError> {
        let request = http::Request::get(url)
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|e| OutboundError::NotAllowed(format!("not a URL: {e}")))?;
        let answer = self.send(request).await?;
        if answer.status != 200 {
            return Err(OutboundError::Failed(format!(
                "{url} answered {} instead of 200",
                answer.status
            )));
        }
        serde_json::from_slice(&answer.body).map_err(|e| {
            OutboundError::Failed(format!("{url} did not answer with the expected JSON: {e}"))
        })
    }
}

fn too_large(host: &str) -> OutboundError {
    OutboundError::Failed(format!(
        "{host} answered with more than {} KiB",
        BODY_LIMIT / 1024
    ))
}

/// The innermost error's words (reqwest's own say only "error sending
/// request").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_known() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
        ] {
            assert!(is_internal(ip(internal)), "{internal}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_internal(ip(public)), "{public}");
        }
    }

    #[tokio::test]
    async fn urls_follow_the_rules() {
        let strict = Rules::default();
        let allowed = Rules::new(Networks::parse("127.0.0.0/8").unwrap());
        let check = |rules: &Rules, url: &str| {
            let rules = rules.clone();
            let url = Url::parse(url).unwrap();
            async move { rules.check(&url).await }
        };
        for url in [
            "https://127.0.0.1/",
            "http://127.0.0.1:8080/x",
            "https://[::1]/",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.1/",
            "https://localhost/",
            "http://8.8.8.8/",
            "ftp://8.8.8.8/",
            "https://user:pw@8.8.8.8/",
        ] {
            assert!(
                matches!(check(&strict, url).await, Err(OutboundError::NotAllowed(_))),
                "{url}"
            );
        }
        assert!(check(&strict, "https://8.8.8.8/").await.is_ok());
        assert!(check(&allowed, "http://127.0.0.1:8080/x").await.is_ok());
        assert!(check(&allowed, "https://127.0.0.1/").await.is_ok());
        assert!(
            check(&allowed, "https://169.254.169.254/").await.is_err(),
            "allowing one network allows no other"
        );
        let e = check(&strict, "https://10.0.0.1/").await.unwrap_err();
        assert!(e.to_string().contains("VIGIL_OUTBOUND_ALLOW"), "{e}");
    }
}
