//! The built console, served from memory: each file of the console's
//! directory is read once at start-up with the brotli (`.br`) and gzip
//! (`.gz`) copies that `cargo xtask` makes beside it, and each request gets
//! the smallest copy its `Accept-Encoding` takes. Each copy is decoded
//! once at start-up and kept only when it is its file byte for byte: a copy
//! left from another build (a file replaced by hand, the copies not made
//! again) is skipped with a warning, and that file goes out as it is.
//! Hashed files (Trunk
//! names them `name-<16 hex>.ext`) are cached for a year as `immutable`;
//! everything else, index.html first, is revalidated on each use
//! (`no-cache`) against its `ETag`. Paths that name no file are the
//! console's own pages: index.html, which routes on the client.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The most the console's files may hold in memory, all copies together;
/// files past it are left out (with an error in the log).
const MAX_TOTAL_BYTES: u64 = 64 * 1024 * 1024;

/// How deep the console's directory is read.
const MAX_DEPTH: usize = 4;

/// `Cache-Control` for a hashed file: its name changes with its content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` for everything else: kept, but asked about each time.
const REVALIDATE: &str = "no-cache";

/// A content coding the console's files come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// Brotli, `.br`.
    Brotli,
    /// gzip, `.gz`.
    Gzip,
    /// The file itself.
    Identity,
}

impl Coding {
    fn token(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
            Coding::Identity => "identity",
        }
    }
}

/// The quality (0 to 1000) `accept_encoding` gives `coding`: its own entry,
/// else `*`'s, else 0.
fn quality(accept_encoding: &str, coding: Coding) -> u16 {
    let mut star = None;
    for entry in accept_encoding.split(',') {
        let mut parts = entry.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let q = parts
            .find_map(|p| {
                let (k, v) = p.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| parse_q(v.trim()))
            })
            .unwrap_or(Some(1000));
        let Some(q) = q else { continue }; // a malformed q: the entry is ignored
        if name.eq_ignore_ascii_case(coding.token())
            || (coding == Coding::Gzip && name.eq_ignore_ascii_case("x-gzip"))
        {
            return q;
        }
        if name == "*" {
            star = Some(q);
        }
    }
    star.unwrap_or(0)
}

/// An RFC 9110 qvalue ("0", "0.5", "1.000") in thousandths.
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The coding to send for `accept_encoding` among those a file has: the
/// acceptable one (quality above 0) with the highest quality, brotli before
/// gzip on a tie; the file itself when neither is acceptable (a client
/// refusing even that gets it all the same: there is nothing else).
pub fn choose(accept_encoding: &str, brotli: bool, gzip: bool) -> Coding {
    let mut best = (Coding::Identity, 0);
    for (coding, have) in [(Coding::Gzip, gzip), (Coding::Brotli, brotli)] {
        let q = quality(accept_encoding, coding);
        if have && q > 0 && q >= best.1 {
            best = (coding, q);
        }
    }
    best.0
}

/// One copy of a file.
#[derive(Debug)]
struct Variant {
    body: Bytes,
    etag: HeaderValue,
}

/// One file of the console, in each coding it comes in.
#[derive(Debug)]
struct Asset {
    content_type: &'static str,
    cache_control: &'static str,
    identity: Variant,
    brotli: Option<Variant>,
    gzip: Option<Variant>,
}

/// The console's files, by URL path (`/index.html`, `/style-….css`).
#[derive(Debug, Default)]
pub struct Console {
    files: HashMap<String, Asset>,
}

/// The media type of a file, by its extension.
fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Whether Trunk hashed the name: `<name>-<hash>.<ext>` (the wasm:
/// `<name>-<hash>_bg.wasm`), the hash a 64-bit number in hexadecimal
/// without leading zeros: 12 to 16 digits but for one build in a million.
pub fn is_hashed(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        (12..=16).contains(&hash.len())
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// A strong validator for `body` sent in `coding`: the content's hash, so
/// the same build gives the same tags on every server.
fn etag(body: &[u8], coding: Coding) -> HeaderValue {
    let digest = hex::encode(&Sha256::digest(body)[..16]);
    let tag = match coding {
        Coding::Identity => format!("\"{digest}\""),
        other => format!("\"{digest}-{}\"", other.token()),
    };
    HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"\""))
}

/// Whether `copy`, decoded as `coding`, is `original` byte for byte.
/// Decodes no more than the original's length and one byte, so a copy that
/// would decode to more costs no more than one that fits.
fn is_copy_of(original: &[u8], copy: &[u8], coding: Coding) -> bool {
    let decoder: Box<dyn Read + '_> = match coding {
        Coding::Brotli => Box::new(brotli_decompressor::Decompressor::new(copy, 4096)),
        Coding::Gzip => Box::new(flate2::read::GzDecoder::new(copy)),
        Coding::Identity => return copy == original,
    };
    let mut decoded = Vec::with_capacity(original.len());
    decoder
        .take(original.len() as u64 + 1)
        .read_to_end(&mut decoded)
        .is_ok_and(|_| decoded == original)
}

impl Console {
    /// Reads the console's directory. A missing or unreadable directory
    /// gives an empty console (the API is still served).
    pub fn load(dir: &Path) -> Console {
        let mut console = Console::default();
        let mut total = 0;
        console.read(dir, "", 0, &mut total);
        console
    }

    fn read(&mut self, dir: &Path, prefix: &str, depth: usize, total: &mut u64) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                if depth < MAX_DEPTH {
                    self.read(&path, &format!("{prefix}/{name}"), depth + 1, total);
                }
                continue;
            }
            if name.ends_with(".br") || name.ends_with(".gz") {
                continue; // read with the file they are copies of
            }
            let read = |p: &Path| std::fs::read(p).ok().map(Bytes::from);
            let Some(identity) = read(&path) else {
                continue;
            };
            // A copy that is not this file (stale, truncated, not in its
            // coding) is not served: the file itself goes out instead.
            let copy_of = |extension: &str, coding| {
                let copy_path = dir.join(format!("{name}.{extension}"));
                let copy = read(&copy_path)?;
                if is_copy_of(&identity, &copy, coding) {
                    return Some(copy);
                }
                tracing::warn!(
                    file = %path.display(),
                    copy = %copy_path.display(),
                    "a precompressed copy does not decode to its file (left from another build, or the file replaced by hand?): the copy is not served, the file is; run `cargo xtask dist` again"
                );
                None
            };
            let brotli = copy_of("br", Coding::Brotli);
            let gzip = copy_of("gz", Coding::Gzip);
            *total += [Some(&identity), brotli.as_ref(), gzip.as_ref()]
                .into_iter()
                .flatten()
                .map(|b| b.len() as u64)
                .sum::<u64>();
            if *total > MAX_TOTAL_BYTES {
                tracing::error!(
                    file = %path.display(),
                    "the console's directory holds more than {} MiB: files from here on are not served",
                    MAX_TOTAL_BYTES / 1024 / 1024
                );
                return;
            }
            let copy = |body: Bytes, coding| Variant {
                etag: etag(&body, coding),
                body,
            };
            self.files.insert(
                format!("{prefix}/{name}"),
                Asset {
                    content_type: content_type(&name),
                    cache_control: if is_hashed(&name) {
                        IMMUTABLE
                    } else {
                        REVALIDATE
                    },
                    identity: copy(identity, Coding::Identity),
                    brotli: brotli.map(|b| copy(b, Coding::Brotli)),
                    gzip: gzip.map(|b| copy(b, Coding::Gzip)),
                },
            );
        }
    }

    /// Whether there is a console to serve (an index.html).
    pub fn is_built(&self) -> bool {
        self.files.contains_key("/index.html")
    }

    /// The answer to a GET or HEAD of `path`: the file, or index.html for
    /// a page of the console; `None` when there is no index.html either.
    fn respond(&self, req: &HttpRequest) -> Option<HttpResponse> {
        let path = req.path();
        let asset = self
            .files
            .get(path)
            .or_else(|| self.files.get("/index.html"))?;
        let accept = req
            .headers()
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        // A range is of one representation: the file itself.
        let coding = if req.headers().contains_key(header::RANGE) {
            Coding::Identity
        } else {
            choose(accept, asset.brotli.is_some(), asset.gzip.is_some())
        };
        let copy = match coding {
            Coding::Brotli => asset.brotli.as_ref(),
            Coding::Gzip => asset.gzip.as_ref(),
            Coding::Identity => None,
        }
        .unwrap_or(&asset.identity);
        let fresh = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|tags| none_match(tags, &copy.etag));
        let mut res = HttpResponse::build(if fresh {
            StatusCode::NOT_MODIFIED
        } else {
            StatusCode::OK
        });
        res.insert_header((header::CACHE_CONTROL, asset.cache_control))
            .insert_header((header::ETAG, copy.etag.clone()));
        if asset.brotli.is_some() || asset.gzip.is_some() {
            res.insert_header((header::VARY, "Accept-Encoding"));
        }
        if fresh {
            return Some(res.finish());
        }
        res.insert_header((header::CONTENT_TYPE, asset.content_type));
        if coding != Coding::Identity {
            res.insert_header((header::CONTENT_ENCODING, coding.token()));
        }
        Some(res.body(copy.body.clone()))
    }
}

/// Whether an `If-None-Match` list names `etag` (weak comparison), or is `*`.
fn none_match(tags: &str, etag: &HeaderValue) -> bool {
    let ours = etag.to_str().unwrap_or_default();
    tags.split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == ours)
}

/// Everything outside the routes: for GET and HEAD, a file of the console
/// or one of its pages; 404 JSON under `/api/`; 405 with `Allow` for other
/// methods.
pub async fn serve(
    req: HttpRequest,
    console: web::Data<Console>,
) -> Result<HttpResponse, ApiError> {
    if req.path().starts_with("/api/") {
        return Err(ApiError::NotFound("no such API endpoint"));
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        let mut res = actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed);
        res.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Ok(res);
    }
    Ok(console.respond(&req).unwrap_or_else(|| {
        HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body(
                "The console is not built. Run `cargo xtask run`, or build it with \
                 `cargo xtask dist` and set VIGIL_STATIC_DIR.\n",
            )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_acceptable_coding_is_chosen() {
        for (accept, brotli, gzip, want, case) in [
            (
                "gzip, deflate, br, zstd",
                true,
                true,
                Coding::Brotli,
                "Chromium's header",
            ),
            (
                "gzip, deflate, br",
                false,
                true,
                Coding::Gzip,
                "no brotli copy",
            ),
            (
                "gzip, deflate",
                true,
                true,
                Coding::Gzip,
                "no brotli accepted",
            ),
            ("", true, true, Coding::Identity, "no header"),
            ("identity", true, true, Coding::Identity, "identity only"),
            ("br;q=0, gzip", true, true, Coding::Gzip, "brotli refused"),
            (
                "br;q=0.5, gzip;q=0.8",
                true,
                true,
                Coding::Gzip,
                "gzip preferred",
            ),
            (
                "br;q=0.8, gzip;q=0.8",
                true,
                true,
                Coding::Brotli,
                "a tie goes to brotli",
            ),
            ("*", true, true, Coding::Brotli, "anything"),
            ("*;q=0, gzip", true, true, Coding::Gzip, "only gzip"),
            ("x-gzip", false, true, Coding::Gzip, "the old name"),
            ("BR", true, false, Coding::Brotli, "any case"),
            (
                "br;q=2, gzip",
                true,
                true,
                Coding::Gzip,
                "a malformed q is ignored",
            ),
            (
                "br;q=0.0001",
                true,
                true,
                Coding::Identity,
                "too many decimals",
            ),
            (
                "gzip;q=0.001, identity;q=0",
                true,
                true,
                Coding::Gzip,
                "identity refused",
            ),
        ] {
            assert_eq!(choose(accept, brotli, gzip), want, "{case}");
        }
    }

    #[test]
    fn a_copy_counts_only_when_it_decodes_to_the_file_itself() {
        use std::io::Write;
        let file = b"<!doctype html><title>Vigil</title>".repeat(20);
        let brotli = |bytes: &[u8]| {
            let mut out = Vec::new();
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 9, 22);
            w.write_all(bytes).unwrap();
            drop(w);
            out
        };
        let gzip = |bytes: &[u8]| {
            let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            w.write_all(bytes).unwrap();
            w.finish().unwrap()
        };
        assert!(is_copy_of(&file, &brotli(&file), Coding::Brotli));
        assert!(is_copy_of(&file, &gzip(&file), Coding::Gzip));
        let mut edited = file.clone();
        edited[10] ^= 1;
        let longer = [&file[..], b"!"].concat();
        for (copy, coding, case) in [
            (brotli(&edited), Coding::Brotli, "another file's brotli"),
            (gzip(&edited), Coding::Gzip, "another file's gzip"),
            (brotli(&longer), Coding::Brotli, "a longer file's"),
            (
                gzip(&file[..file.len() - 1]),
                Coding::Gzip,
                "a shorter file's",
            ),
            (gzip(&file), Coding::Brotli, "gzip named .br"),
            (brotli(&file), Coding::Gzip, "brotli named .gz"),
            (gzip(&file)[..20].to_vec(), Coding::Gzip, "truncated"),
            (Vec::new(), Coding::Brotli, "empty"),
        ] {
            assert!(!is_copy_of(&file, &copy, coding), "{case}");
        }
        // A copy that would decode to far more stops one byte past the file.
        let bomb = gzip(&vec![0u8; 50 * 1024 * 1024]);
        assert!(!is_copy_of(&file, &bomb, Coding::Gzip));
    }

    #[test]
    fn trunks_hashed_names_are_told_from_the_rest() {
        for (name, hashed) in [
            ("vigil-console-4d3b0e6b1e7c8a9f.js", true),
            ("vigil-console-4d3b0e6b1e7c8a9f_bg.wasm", true),
            ("style-2f0a9d1c3b4e5f67.css", true),
            ("index.html", false),
            ("style.css", false),
            ("vigil-console-80f3b1c67924343.js", true),
            ("vigil-console-80f3b1c67924343_bg.wasm", true),
            ("vigil-console.js", false),
            ("vigil-console-80f3b1c.js", false),
            ("robots.txt", false),
            ("apple-touch-icon.png", false),
        ] {
            assert_eq!(is_hashed(name), hashed, "{name}");
        }
    }

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists_and_star() {
        let tag = HeaderValue::from_static("\"abc-br\"");
        assert!(none_match("\"abc-br\"", &tag));
        assert!(none_match("W/\"abc-br\"", &tag));
        assert!(none_match("\"x\", \"abc-br\"", &tag));
        assert!(none_match("*", &tag));
        assert!(!none_match("\"abc\"", &tag));
        assert!(!none_match("", &tag));
    }
}
