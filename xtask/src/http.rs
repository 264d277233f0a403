//! The one HTTP client xtask has: plain HTTP/1.1 to a server it started on
//! 127.0.0.1, one request per connection (`Connection: close`), the whole
//! answer read as text. `bench` drives Vigil and the baseline with it;
//! `dist` asks the unpacked archive for its console, API and readiness.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;

use crate::Result;

/// An answer: its status, its head (status line and headers) and its body.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) head: String,
    pub(crate) body: String,
}

impl Response {
    /// The value of the cookie `name` this answer sets.
    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        self.head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .find_map(|(_, v)| {
                v.trim()
                    .strip_prefix(&format!("{name}="))
                    .map(|r| r.split(';').next().unwrap_or("").to_owned())
            })
    }
}

/// Sends `method path` with `headers` and `body` to 127.0.0.1:`port`.
pub(crate) fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Response> {
    let mut s =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect :{port}: {e}"))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).map_err(|e| e.to_string())?;
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{method} :{port}{path}: no HTTP status in the answer"))?;
    Ok(Response {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    })
}

/// `GET path` on 127.0.0.1:`port`.
pub(crate) fn get(port: u16, path: &str) -> Result<Response> {
    request(port, "GET", path, &[], "")
}
