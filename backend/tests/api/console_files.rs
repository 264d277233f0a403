//! The console's files over HTTP: the brotli or gzip copy the browser
//! accepts, decompressing to the file itself; hashed files cached for a
//! year, everything else revalidated by its ETag.

use std::io::{Read, Write};
use std::path::Path;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use crate::helpers::{spawn_app_with, Options, TestApp};

const JS: &str = "vigil-console-0123456789abcdef.js";
const WASM: &str = "vigil-console-0123456789abcdef_bg.wasm";
const CSS: &str = "style-fedcba9876543210.css";
/// A file of the console without compressed copies.
const PLAIN: &str = "robots.txt";

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

pub fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).unwrap();
    out
}

pub fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &bytes[..], &mut out).unwrap();
    out
}

/// The body as the file it stands for, by its `Content-Encoding`.
pub fn decoded(headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    match headers.get("content-encoding").map(|v| v.to_str().unwrap()) {
        Some("br") => unbrotli(body),
        Some("gzip") => gunzip(body),
        None => body.to_vec(),
        Some(other) => panic!("unexpected Content-Encoding {other}"),
    }
}

/// A built console's files, each but [`PLAIN`] with its `.br` and `.gz`.
fn files() -> Vec<(&'static str, Vec<u8>)> {
    let index = format!(
        "<!doctype html><html><head><link rel=\"stylesheet\" href=\"/{CSS}\">\
         <script type=\"module\">import init from '/{JS}';init('/{WASM}');</script></head><body></body></html>"
    );
    let js = "export default function init(url) { return fetch(url); }\n".repeat(40);
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend((0..4000u32).map(|i| (i % 251) as u8));
    let css = "body { margin: 0; font-family: system-ui, sans-serif; }\n".repeat(30);
    vec![
        ("index.html", index.into_bytes()),
        (JS, js.into_bytes()),
        (WASM, wasm),
        (CSS, css.into_bytes()),
        (PLAIN, b"User-agent: *\nDisallow: /api/\n".to_vec()),
    ]
}

async fn spawn_with_console() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files() {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        if name != PLAIN {
            std::fs::write(Path::new(&format!("{}.br", path.display())), brotli(&bytes)).unwrap();
            std::fs::write(Path::new(&format!("{}.gz", path.display())), gzip(&bytes)).unwrap();
        }
    }
    let app = spawn_app_with(Options {
        static_dir: Some(dir.path().to_path_buf()),
        ..Options::default()
    })
    .await;
    (app, dir)
}

async fn get(
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = app.client.get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn each_file_comes_in_the_coding_the_browser_accepts_and_decompresses_to_itself() {
    let (app, _dir) = spawn_with_console().await;
    for (name, original) in files().into_iter().filter(|(n, _)| *n != PLAIN) {
        let mut etags = Vec::new();
        for (accept, coding, case) in [
            (
                "gzip, deflate, br, zstd",
                Some("br"),
                "Chromium's Accept-Encoding",
            ),
            ("gzip, deflate", Some("gzip"), "no brotli"),
            ("br;q=0, gzip", Some("gzip"), "brotli refused"),
            ("identity", None, "no compression"),
            ("", None, "no Accept-Encoding"),
        ] {
            let headers: Vec<(&str, &str)> = if accept.is_empty() {
                vec![]
            } else {
                vec![("Accept-Encoding", accept)]
            };
            let (status, h, body) = get(&app, &format!("/{name}"), &headers).await;
            let case = format!("{name}, {case}");
            assert_eq!(status, StatusCode::OK, "{case}");
            assert_eq!(
                h.get("content-encoding").map(|v| v.to_str().unwrap()),
                coding,
                "{case}"
            );
            assert_eq!(h["vary"], "Accept-Encoding", "{case}");
            assert_eq!(
                h["content-length"].to_str().unwrap(),
                body.len().to_string(),
                "{case}"
            );
            if coding.is_some() {
                assert!(body.len() < original.len(), "{case}: smaller than the file");
            }
            assert_eq!(decoded(&h, &body), original, "{case}: the file itself");
            let content_type = h["content-type"].to_str().unwrap();
            let cache = h["cache-control"].to_str().unwrap();
            match name.rsplit_once('.').unwrap().1 {
                "html" => {
                    assert_eq!(content_type, "text/html; charset=utf-8", "{case}");
                    assert_eq!(cache, "no-cache", "{case}: revalidated");
                }
                ext => {
                    let want = match ext {
                        "js" => "text/javascript; charset=utf-8",
                        "wasm" => "application/wasm",
                        _ => "text/css; charset=utf-8",
                    };
                    assert_eq!(content_type, want, "{case}");
                    assert_eq!(cache, "public, max-age=31536000, immutable", "{case}");
                }
            }
            // The edge's headers are on the console's files too.
            assert_eq!(h["x-content-type-options"], "nosniff", "{case}");
            etags.push(h["etag"].to_str().unwrap().to_owned());
        }
        // One validator per representation: br, gzip, gzip, identity, identity.
        assert_eq!(etags[1], etags[2], "{name}");
        assert_eq!(etags[3], etags[4], "{name}");
        assert!(
            etags[0] != etags[1] && etags[1] != etags[3] && etags[0] != etags[3],
            "{name}: {etags:?}"
        );
    }
}

#[tokio::test]
async fn the_consoles_pages_are_index_html_revalidated_by_its_etag() {
    let (app, _dir) = spawn_with_console().await;
    let index = files().remove(0).1;
    let br = [("Accept-Encoding", "gzip, deflate, br")];
    let (_, first, _) = get(&app, "/", &br).await;
    let etag = first["etag"].to_str().unwrap().to_owned();
    for path in ["/", "/login", "/admin/team", "/desk?x=1", "/no/such/page"] {
        let (status, h, body) = get(&app, path, &br).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(h["cache-control"], "no-cache", "{path}");
        assert_eq!(h["content-encoding"], "br", "{path}");
        assert_eq!(unbrotli(&body), index, "{path}");
        assert_eq!(h["etag"].to_str().unwrap(), etag, "{path}");
        // Asked again with the validator: nothing but the headers.
        for tag in [
            etag.clone(),
            format!("W/{etag}"),
            format!("\"other\", {etag}"),
        ] {
            let (status, h, body) = get(&app, path, &[br[0], ("If-None-Match", &tag)]).await;
            assert_eq!(status, StatusCode::NOT_MODIFIED, "{path} {tag}");
            assert!(body.is_empty(), "{path}");
            assert_eq!(h["etag"].to_str().unwrap(), etag, "{path}");
            assert_eq!(h["cache-control"], "no-cache", "{path}");
            assert_eq!(h["vary"], "Accept-Encoding", "{path}");
        }
        // Another representation's validator is not this one's.
        let (_, gz, _) = get(&app, path, &[("Accept-Encoding", "gzip")]).await;
        let gz_tag = gz["etag"].to_str().unwrap().to_owned();
        let (status, ..) = get(&app, path, &[br[0], ("If-None-Match", &gz_tag)]).await;
        assert_eq!(status, StatusCode::OK, "{path}: the gzip copy's ETag");
    }
}

#[tokio::test]
async fn ranges_heads_and_files_without_copies_are_served_as_they_are() {
    let (app, _dir) = spawn_with_console().await;
    let (name, wasm) = files().remove(2);
    // A range is of the file itself, never of a compressed copy.
    let (status, h, body) = get(
        &app,
        &format!("/{name}"),
        &[("Accept-Encoding", "br, gzip"), ("Range", "bytes=0-3")],
    )
    .await;
    assert!(status == StatusCode::OK || status == StatusCode::PARTIAL_CONTENT);
    assert!(h.get("content-encoding").is_none());
    assert!(wasm.starts_with(&body));
    // HEAD: the GET's headers, no body.
    let res = app
        .client
        .head(app.url(&format!("/{name}")))
        .header("Accept-Encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(h["content-encoding"], "br");
    let (_, get_h, get_body) = get(&app, &format!("/{name}"), &[("Accept-Encoding", "br")]).await;
    assert_eq!(h["etag"], get_h["etag"]);
    assert_eq!(
        h["content-length"].to_str().unwrap(),
        get_body.len().to_string()
    );
    assert!(res.bytes().await.unwrap().is_empty());
    // No copies: the file itself, and nothing varies.
    let (status, h, body) = get(
        &app,
        &format!("/{PLAIN}"),
        &[("Accept-Encoding", "br, gzip")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(h.get("content-encoding").is_none());
    assert!(h.get("vary").is_none());
    assert_eq!(h["cache-control"], "no-cache", "not hashed");
    assert_eq!(h["content-type"], "text/plain; charset=utf-8");
    assert_eq!(body, files().remove(4).1);
    // The copies are not files of their own.
    let (_, h, body) = get(&app, &format!("/{name}.br"), &[]).await;
    assert_eq!(
        h["content-type"], "text/html; charset=utf-8",
        "a page: index.html"
    );
    assert_eq!(body, files().remove(0).1);
}

/// A copy that is not its file (left from an earlier build when someone
/// replaced index.html or a script by hand, or cut short) is never sent:
/// the server decodes each copy once at start-up and serves, in its place,
/// the other copy when that one matches, else the file itself.
#[tokio::test]
async fn a_stale_or_broken_copy_is_not_served_the_file_is() {
    let (_, dir) = spawn_with_console().await;
    let at = |name: &str| dir.path().join(name);
    // index.html replaced by hand: both copies are the old page's.
    let index = b"<!doctype html><title>Edited by hand</title>".to_vec();
    std::fs::write(at("index.html"), &index).unwrap();
    // The script replaced and only its brotli copy made again.
    let js = b"export default function init() { return 'patched'; }\n".repeat(20);
    std::fs::write(at(JS), &js).unwrap();
    std::fs::write(at(&format!("{JS}.br")), brotli(&js)).unwrap();
    // The stylesheet's brotli copy cut short.
    let css = std::fs::read(at(CSS)).unwrap();
    let br = brotli(&css);
    std::fs::write(at(&format!("{CSS}.br")), &br[..br.len() / 2]).unwrap();
    let app = spawn_app_with(Options {
        static_dir: Some(dir.path().to_path_buf()),
        ..Options::default()
    })
    .await;

    let both = [("Accept-Encoding", "gzip, deflate, br")];
    let gzip_only = [("Accept-Encoding", "gzip")];
    for (path, headers, want_coding, want, case) in [
        (
            "/",
            &both[..],
            None,
            &index,
            "index.html, both copies stale",
        ),
        ("/index.html", &gzip_only[..], None, &index, "index.html"),
        ("/desk", &both[..], None, &index, "a console page"),
        (
            &format!("/{JS}"),
            &both[..],
            Some("br"),
            &js,
            "the script's fresh brotli",
        ),
        (
            &format!("/{JS}"),
            &gzip_only[..],
            None,
            &js,
            "the script's stale gzip",
        ),
        (
            &format!("/{CSS}"),
            &both[..],
            Some("gzip"),
            &css,
            "the stylesheet's cut brotli",
        ),
    ] {
        let (status, h, body) = get(&app, path, headers).await;
        assert_eq!(status, StatusCode::OK, "{case}");
        assert_eq!(
            h.get("content-encoding").map(|v| v.to_str().unwrap()),
            want_coding,
            "{case}"
        );
        assert_eq!(&decoded(&h, &body), want, "{case}");
    }
    // The files whose copies match are sent compressed as before.
    let (name, wasm) = files().remove(2);
    let (_, h, body) = get(&app, &format!("/{name}"), &both).await;
    assert_eq!(h["content-encoding"], "br");
    assert_eq!(unbrotli(&body), wasm);
}
