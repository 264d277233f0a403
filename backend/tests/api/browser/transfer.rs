//! What a browser receives of the console (issue 20 item 10), measured by
//! Chromium itself (Resource Timing: `transferSize`, `encodedBodySize`,
//! `decodedBodySize`): the compressed copies `cargo xtask` writes, then
//! nothing at all for the hashed files on the next visit.

use std::collections::HashMap;

use serde_json::Value;

use super::fixture::{dist, Browser, Console};
use crate::console_files::decoded;

/// The console's wasm, JS and CSS as Chromium fetched them for this page:
/// path → (transferSize, encodedBodySize, decodedBodySize).
async fn fetched(b: &Browser) -> HashMap<String, (u64, u64, u64)> {
    let entries: Value = b
        .client
        .execute(
            "return performance.getEntriesByType('resource')
                .filter(e => /\\.(wasm|js|css)$/.test(new URL(e.name).pathname))
                .map(e => [new URL(e.name).pathname, e.transferSize, e.encodedBodySize, e.decodedBodySize]);",
            vec![],
        )
        .await
        .unwrap();
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let n = |i: usize| e[i].as_f64().unwrap() as u64;
            (e[0].as_str().unwrap().to_owned(), (n(1), n(2), n(3)))
        })
        .collect()
}

fn size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|_| {
            panic!(
                "{} is missing: build the console with `cargo xtask` (it writes the \
                 compressed copies), not with trunk alone",
                path.display()
            )
        })
        .len()
}

#[tokio::test]
async fn chromium_receives_the_compressed_console_and_then_keeps_it() {
    let app = Console::start().await;
    let dir = dist();
    let b = Browser::launch().await;
    b.goto(&app, "/login").await;
    b.field("Email").await;
    let first = fetched(&b).await;
    assert_eq!(first.len(), 3, "wasm, JS and CSS: {first:?}");
    let (mut received, mut raw) = (0, 0);
    for (path, (transfer, encoded, decoded)) in &first {
        let file = dir.join(path.trim_start_matches('/'));
        assert_eq!(
            *decoded,
            size(&file),
            "{path}: the file itself, once decoded"
        );
        // Chromium asks for gzip and, on secure origins, brotli: the body
        // it received is one of the copies, byte for byte.
        let (br, gz) = (
            size(&file.with_file_name(format!(
                "{}.br",
                file.file_name().unwrap().to_string_lossy()
            ))),
            size(&file.with_file_name(format!(
                "{}.gz",
                file.file_name().unwrap().to_string_lossy()
            ))),
        );
        assert!(
            *encoded == br || *encoded == gz,
            "{path}: {encoded} bytes on the wire, the brotli copy is {br}, the gzip one {gz}"
        );
        assert!(encoded < decoded, "{path}: compressed");
        assert!(transfer > encoded, "{path}: the body and its headers");
        received += transfer;
        raw += decoded;
    }
    println!(
        "the console reached Chromium in {:.1} KB ({:.1} KB once decoded)",
        received as f64 / 1024.0,
        raw as f64 / 1024.0
    );
    assert!(received * 2 < raw, "{received} of {raw} bytes");
    // What arrived is what index.html asked for: the stylesheet applies
    // (a changed file would fail its integrity check and be dropped).
    let rules = b
        .client
        .execute(
            "return Array.from(document.styleSheets).reduce((n, s) => n + s.cssRules.length, 0);",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        rules.as_u64().unwrap() > 10,
        "the stylesheet applies: {rules}"
    );

    // The next visit: the hashed files are immutable, so nothing is fetched.
    b.goto(&app, "/portal/login").await;
    b.field("Email").await;
    let again = fetched(&b).await;
    assert_eq!(again.len(), 3, "{again:?}");
    for (path, (transfer, _, decoded)) in &again {
        assert_eq!(*transfer, 0, "{path} came from the cache");
        assert_eq!(*decoded, first[path].2, "{path}");
    }
}

#[tokio::test]
async fn each_compressed_copy_served_is_the_built_file() {
    let app = Console::start().await;
    let dir = dist();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".br") && !n.ends_with(".gz") && !n.starts_with('.'))
        .collect();
    names.sort();
    assert!(names.iter().any(|n| n.ends_with(".wasm")), "{names:?}");
    for name in names {
        let original = std::fs::read(dir.join(&name)).unwrap();
        for (accept, coding) in [("br", "br"), ("gzip", "gzip")] {
            let res = app
                .client
                .get(app.url(&format!("/{name}")))
                .header("Accept-Encoding", accept)
                .send()
                .await
                .unwrap();
            let headers = res.headers().clone();
            assert_eq!(
                headers["content-encoding"], coding,
                "{name}: a copy for {accept}"
            );
            let body = res.bytes().await.unwrap();
            assert_eq!(decoded(&headers, &body), original, "{name} in {coding}");
        }
    }
}
