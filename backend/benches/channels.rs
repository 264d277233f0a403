//! Load set-up for `cargo xtask bench` (P9): opens one live channel
//! (`GET /api/session/events`) per session for the first N sessions of a
//! sessions file (`TOKEN SESSION_ID` per line, from the `sessions` bench),
//! each on its own connection as N browsers would, waits until every one
//! has received its first `session` event, prints `open N`, and holds them
//! until standard input closes (heartbeats are read and dropped).
//!
//! Run: `cargo bench -p vigil-server --bench channels -- PORT N FILE`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::BufRead;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens one channel; returns the stream once its first event arrived.
async fn open(port: u16, token: &str) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    let req = format!(
        "GET /api/session/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\nCookie: __Host-vigil={token}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await?;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::other("closed before the first event"));
        }
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen);
        if !text.starts_with("HTTP/1.1 200") {
            if text.contains("\r\n\r\n") {
                return Err(std::io::Error::other(format!(
                    "refused: {}",
                    text.lines().next().unwrap_or("")
                )));
            }
            continue;
        }
        // The body is chunked: the event is complete at its blank line,
        // whatever chunk framing follows.
        if let Some(at) = text.find("event: session") {
            if text[at..].contains("\n\n") {
                return Ok(s);
            }
        }
    }
}

/// Reads and drops whatever the server sends (heartbeats) until it closes.
async fn drain(mut s: TcpStream) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = s.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [port, n, file] = args.as_slice() else {
        eprintln!("usage: channels PORT N FILE");
        std::process::exit(2);
    };
    let port: u16 = port.parse().expect("PORT is a number");
    let n: usize = n.parse().expect("N is a number");
    let tokens: Vec<String> = std::fs::read_to_string(file)
        .expect("the sessions file")
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .take(n)
        .collect();
    assert_eq!(
        tokens.len(),
        n,
        "the sessions file has fewer than {n} sessions"
    );
    let opened = Arc::new(AtomicUsize::new(0));
    let limit = Arc::new(tokio::sync::Semaphore::new(256));
    let mut tasks = Vec::with_capacity(n);
    for token in tokens {
        let (opened, limit) = (opened.clone(), limit.clone());
        tasks.push(tokio::spawn(async move {
            // At most 256 openings at once, as a crowd of browsers arriving.
            let permit = limit.acquire_owned().await.unwrap();
            let mut tries = 0;
            let stream = loop {
                match open(port, &token).await {
                    Ok(s) => break s,
                    Err(e) if tries < 5 => {
                        tries += 1;
                        let _ = e;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => {
                        eprintln!("could not open a channel: {e}");
                        std::process::exit(1);
                    }
                }
            };
            drop(permit);
            opened.fetch_add(1, Ordering::Relaxed);
            drain(stream).await;
        }));
    }
    while opened.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("open {n}");
    // Hold the channels until told to stop (standard input closes).
    tokio::task::spawn_blocking(|| {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            if line.is_err() {
                break;
            }
        }
    })
    .await
    .unwrap();
    for t in tasks {
        t.abort();
    }
}
