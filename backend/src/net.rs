//! Who the client is: the peer, unless the peer is a trusted proxy
//! (`VIGIL_TRUSTED_PROXIES`), in which case the right-most address in
//! `X-Forwarded-For` that is not itself a trusted proxy. Only trusted peers
//! may name the client, so nobody can dodge the sign-in throttle or forge
//! the audit log's address by sending the header themselves.

use std::net::IpAddr;

use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// Networks in CIDR notation (`10.0.0.0/8`, `::1/128`; a bare address is
/// a /32 or /128), as ops list them: comma-separated, empty for none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Networks(Vec<IpNet>);

impl Networks {
    /// Parses a comma-separated list; the message names the bad entry.
    pub fn parse(s: &str) -> Result<Networks, String> {
        s.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse::<IpNet>()
                    .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{part:?} is not an address or a network like 10.0.0.0/8"))
            })
            .collect::<Result<_, _>>()
            .map(Networks)
    }

    /// Whether no network is listed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is in one of the networks (an IPv4 client seen through
    /// an IPv6 socket counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// The client's address: see the module docs. `peer` is the address the
/// connection came from.
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &Networks,
) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: IpAddr| trusted.contains(ip);
    if !is_trusted(peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            // Not an address: the proxy that added it is the last we trust.
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    Some(client)
}

/// The client's address as text (see [`client_address`]), for the
/// throttle, the audit log and the sessions list.
pub fn client_ip(req: &actix_web::HttpRequest, trusted: &Networks) -> String {
    client_address(req.peer_addr().map(|a| a.ip()), req.headers(), trusted)
        .map(|ip| ip.to_string())
        .unwrap_or_default()
}

/// Longest `User-Agent` kept.
const USER_AGENT_MAX: usize = 512;

/// The browser's `User-Agent`, cut to a sane length.
pub fn user_agent(req: &actix_web::HttpRequest) -> Option<String> {
    req.headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(USER_AGENT_MAX).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_contain_what_they_should() {
        let net = Networks::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(ip("10.1.2.3")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.0.0.9")), "IPv4-mapped");
        let one = Networks::parse("192.0.2.1").unwrap();
        assert!(one.contains(ip("192.0.2.1")) && !one.contains(ip("192.0.2.2")));
        let v6 = Networks::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("10.0.0.1")));
        assert!(Networks::parse("0.0.0.0/0")
            .unwrap()
            .contains(ip("8.8.8.8")));
        for bad in ["nope", "10.0.0.0/33", "::/129", "10.0.0.0/x"] {
            assert!(Networks::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Networks::parse("").unwrap().is_empty());
        let two = Networks::parse(" 10.0.0.0/8, ::1 ,").unwrap();
        assert!(two.contains(ip("::1")) && two.contains(ip("10.0.0.1")));
        let e = Networks::parse("10.0.0.0/8,bogus").unwrap_err();
        assert!(e.contains("bogus"), "{e}");
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                HeaderName::from_static("x-forwarded-for"),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn only_trusted_peers_may_name_the_client() {
        let trusted = Networks::parse("10.0.0.0/8").unwrap();
        let h = forwarded(&["203.0.113.9"]);
        // An untrusted peer is the client, whatever it claims.
        assert_eq!(
            client_address(Some(ip("198.51.100.1")), &h, &trusted),
            Some(ip("198.51.100.1"))
        );
        // No trusted proxies configured: the header is ignored.
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &h, &Networks::default()),
            Some(ip("10.0.0.2"))
        );
        // Behind a trusted proxy: the address it saw.
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &h, &trusted),
            Some(ip("203.0.113.9"))
        );
        // The right-most untrusted hop: what a client put first is ignored.
        let h = forwarded(&["1.1.1.1, 203.0.113.9", "10.0.0.7"]);
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &h, &trusted),
            Some(ip("203.0.113.9"))
        );
        // Only proxies: the left-most of them.
        let h = forwarded(&["10.9.9.9"]);
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &h, &trusted),
            Some(ip("10.9.9.9"))
        );
        // Garbage stops the walk at the last trusted proxy.
        let h = forwarded(&["203.0.113.9, garbage"]);
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &h, &trusted),
            Some(ip("10.0.0.2"))
        );
    }
}
