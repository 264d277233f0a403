//! Who the client is: the peer, unless the peer is a trusted proxy
//! (`VIGIL_TRUSTED_PROXIES`), in which case the right-most address in
//! `X-Forwarded-For` that is not itself a trusted proxy. Only trusted peers
//! may name the client, so nobody can dodge the sign-in throttle or forge
//! the audit log's address by sending the header themselves.

use std::net::IpAddr;

use actix_web::http::header::HeaderMap;

/// A network in CIDR notation (`10.0.0.0/8`, `::1/128`; a bare address is
/// a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses one network; the message says what is wrong.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an address or a network like 10.0.0.0/8"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} has a prefix length outside 0 to {max}"))?,
        };
        Ok(Cidr { network, prefix })
    }

    /// Parses a comma-separated list (empty: none).
    pub fn parse_list(s: &str) -> Result<Vec<Cidr>, String> {
        s.split(',')
            .filter(|part| !part.trim().is_empty())
            .map(Cidr::parse)
            .collect()
    }

    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn bits(ip: IpAddr) -> (u128, u32) {
            match ip {
                IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
                IpAddr::V6(v6) => (u128::from(v6), 128),
            }
        }
        let ip = match ip {
            // An IPv4 client seen through an IPv6 socket.
            IpAddr::V6(v6) if self.network.is_ipv4() => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            other => other,
        };
        let ((net, width), (addr, addr_width)) = (bits(self.network), bits(ip));
        if width != addr_width {
            return false;
        }
        let host_bits = width - u32::from(self.prefix);
        if host_bits >= 128 {
            return true;
        }
        (net >> host_bits) == (addr >> host_bits)
    }
}

/// The client's address: see the module docs. `peer` is the address the
/// connection came from.
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[Cidr],
) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
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

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_contain_what_they_should() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(ip("10.1.2.3")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.0.0.9")), "IPv4-mapped");
        let one = Cidr::parse("192.0.2.1").unwrap();
        assert!(one.contains(ip("192.0.2.1")) && !one.contains(ip("192.0.2.2")));
        let v6 = Cidr::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("10.0.0.1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["", "nope", "10.0.0.0/33", "::/129", "10.0.0.0/x"] {
            assert!(Cidr::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Cidr::parse_list(" 10.0.0.0/8, ::1 ,").unwrap().len(), 2);
        assert!(Cidr::parse_list("10.0.0.0/8,bogus").is_err());
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
        let trusted = Cidr::parse_list("10.0.0.0/8").unwrap();
        let h = forwarded(&["203.0.113.9"]);
        // An untrusted peer is the client, whatever it claims.
        assert_eq!(
            client_address(Some(ip("198.51.100.1")), &h, &trusted),
            Some(ip("198.51.100.1"))
        );
        // No trusted proxies configured: the header is ignored.
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &h, &[]),
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
