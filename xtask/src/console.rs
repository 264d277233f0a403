//! Building the console (`run`, `test` and `dist` all serve the same one):
//! Trunk into `dist/`, wasm-opt (which also gives the names across the
//! wasm/JS boundary one or two letters, the JS glue following) and esbuild
//! (minifying the JS glue) when they could be had, gzip and brotli copies
//! of each file for `vigil serve` to send, and the size budget.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::process::{status, step};
use crate::{root, tools, Result};

/// The budget for the console's wasm + js + css, gzipped (the goal is
/// [`CONSOLE_GOAL_BYTES`]; the build says when it is over the goal). It is
/// stated on gzip, the coding every browser takes, though browsers that
/// take brotli (all current ones) receive less: the build prints both.
const CONSOLE_BUDGET_BYTES: u64 = 300 * 1024;
const CONSOLE_GOAL_BYTES: u64 = 250 * 1024;

/// Builds the console into dist/ with Trunk, shrinks the wasm with wasm-opt
/// when available, writes the compressed copies, prints the sizes and
/// checks the budget.
pub(crate) fn build() -> Result<PathBuf> {
    tools::ensure_wasm_target()?;
    tools::ensure_trunk()?;
    tools::ensure_wasm_bindgen()?;
    let wasm_opt = tools::wasm_opt();
    let esbuild = tools::esbuild();
    step("building the console (trunk build --release --offline)");
    let mut trunk = Command::new("trunk");
    trunk
        .current_dir(root())
        .args(["build", "--release", "--offline"])
        .env("NO_COLOR", "true");
    status(trunk, "trunk build")?;
    let dist = root().join("dist");
    let files: Vec<PathBuf> = fs::read_dir(&dist)
        .map_err(|e| format!("reading {}: {e}", dist.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let mut renamed = None;
    if let Some(opt) = &wasm_opt {
        let wasms: Vec<&PathBuf> = files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
            .collect();
        let [wasm] = wasms.as_slice() else {
            return Err(format!("Trunk wrote {} wasm files, not one", wasms.len()));
        };
        let mut c = Command::new(opt);
        // Features come from the target_features section rustc writes.
        c.args([
            "-Oz",
            "--strip-debug",
            "--strip-producers",
            // One-letter names across the wasm/JS boundary; it prints the
            // mapping, which the JS glue then follows (`Renamed`).
            "--minify-imports-and-exports-and-modules",
            // Binaryen 132 would otherwise write the compact import encoding,
            // which browsers do not accept yet.
            "--disable-compact-imports",
        ])
        .arg(wasm)
        .arg("-o")
        .arg(wasm);
        let out = c
            .output()
            .map_err(|e| format!("wasm-opt: could not start: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "wasm-opt failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        renamed = Some(Renamed::parse(&String::from_utf8_lossy(&out.stdout)));
    }
    for file in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "js"))
    {
        if let Some(renamed) = &renamed {
            let js = fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let js = renamed
                .apply(&js)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            fs::write(file, js).map_err(|e| format!("{}: {e}", file.display()))?;
        }
    }
    if let Some(esbuild) = &esbuild {
        for file in files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "js"))
        {
            // Not the CSS: index.html names it with its integrity hash
            // (the JS and wasm go without one: index.html).
            let mut c = Command::new(esbuild);
            c.arg(file)
                .args([
                    "--minify",
                    "--format=esm",
                    "--log-level=warning",
                    "--allow-overwrite",
                ])
                .arg(format!("--outfile={}", file.display()));
            status(c, "esbuild (minifying the JS glue)")?;
        }
    }
    let sizes = precompress(&files)?;
    let mut total = Sizes::default();
    println!("    {:<5} {:>9} {:>9} {:>9}", "", "raw", "gzip", "brotli");
    for kind in ["wasm", "js", "css", "html"] {
        let mut of_kind = Sizes::default();
        for (_, s) in sizes
            .iter()
            .filter(|(p, _)| p.extension().is_some_and(|e| e == kind))
        {
            of_kind.add(s);
        }
        println!(
            "    {kind:<5} {:>6.1} KB {:>6.1} KB {:>6.1} KB",
            kb(of_kind.raw),
            kb(of_kind.gzip),
            kb(of_kind.brotli)
        );
        if kind != "html" {
            total.add(&of_kind);
        }
    }
    println!(
        "    console (wasm + js + css): {:.1} KB gzipped (budget {} KB, goal {} KB{}); \
         a browser receives {:.1} KB (brotli)",
        kb(total.gzip),
        CONSOLE_BUDGET_BYTES / 1024,
        CONSOLE_GOAL_BYTES / 1024,
        if total.gzip > CONSOLE_GOAL_BYTES {
            ": over the goal"
        } else {
            ""
        },
        kb(total.brotli),
    );
    if total.gzip > CONSOLE_BUDGET_BYTES {
        return Err(format!(
            "the console is {:.1} KB gzipped, over its {} KB budget",
            kb(total.gzip),
            CONSOLE_BUDGET_BYTES / 1024
        ));
    }
    Ok(dist)
}

/// The wasm's import and export names as wasm-opt shortened them, for the
/// JS glue, which must use the same ones. wasm-bindgen's names carry a
/// 16-digit hash each and appear in both files: about 200 of them cost
/// 6 KB of the gzipped console.
#[derive(Debug, Default, PartialEq)]
struct Renamed {
    /// (module, name, new name); every module becomes `a`.
    imports: Vec<(String, String, String)>,
    /// (name, new name).
    exports: Vec<(String, String)>,
}

impl Renamed {
    /// The module every import comes from after wasm-opt
    /// (`SINGLETON_MODULE_NAME` in Binaryen's MinifyImportsAndExports).
    const MODULE: &str = "a";

    /// Reads the mapping wasm-opt prints: `{"imports": [["module", "name",
    /// "new"], …], "exports": [["name", "new"], …]}`, an entry a line.
    fn parse(map: &str) -> Renamed {
        let mut renamed = Renamed::default();
        let mut exports = false;
        for line in map.lines() {
            if line.contains("\"exports\"") {
                exports = true;
            }
            let quoted: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
            match (exports, quoted.as_slice()) {
                (false, [module, name, new]) => {
                    renamed
                        .imports
                        .push((module.to_string(), name.to_string(), new.to_string()))
                }
                (true, [name, new]) => renamed.exports.push((name.to_string(), new.to_string())),
                _ => {}
            }
        }
        renamed
    }

    /// wasm-bindgen's glue with the new names: each import's key in the
    /// imports object (found exactly once), the module's key, and each
    /// `wasm.<export>`. Anything unexpected stops the build rather than
    /// shipping a console that cannot start.
    fn apply(&self, js: &str) -> Result<String> {
        let mut js = js.to_owned();
        let mut modules: Vec<&str> = self.imports.iter().map(|(m, _, _)| m.as_str()).collect();
        modules.sort_unstable();
        modules.dedup();
        let [module] = modules.as_slice() else {
            return Err(format!(
                "the wasm imports from {} modules, and the glue is renamed for one",
                modules.len()
            ));
        };
        for (from, to, want) in std::iter::once((
            format!("\"{module}\""),
            format!("\"{}\"", Self::MODULE),
            Some(1),
        ))
        .chain(
            self.imports
                .iter()
                .map(|(_, name, new)| (name.clone(), new.clone(), Some(1))),
        )
        .chain(
            self.exports
                .iter()
                .map(|(name, new)| (format!("wasm.{name}"), format!("wasm.{new}"), None)),
        ) {
            let (next, found) = replace_word(&js, &from, &to);
            if want.is_some_and(|n| n != found) {
                return Err(format!("{from} is in the JS glue {found} times, not once"));
            }
            js = next;
        }
        Ok(js)
    }
}

/// `text` with each `word` that is not part of a longer identifier
/// replaced by `with`, and how many there were.
fn replace_word(text: &str, word: &str, with: &str) -> (String, usize) {
    let ident =
        |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut found = 0;
    while let Some(at) = rest.find(word) {
        out.push_str(&rest[..at]);
        rest = &rest[at + word.len()..];
        let whole = !ident(out.chars().next_back()) && !ident(rest.chars().next());
        out.push_str(if whole { with } else { word });
        found += usize::from(whole);
    }
    out.push_str(rest);
    (out, found)
}

fn kb(bytes: u64) -> f64 {
    bytes as f64 / 1024.0
}

/// A file's size as it is, gzipped and brotli-compressed.
#[derive(Debug, Default, Clone, Copy)]
struct Sizes {
    raw: u64,
    gzip: u64,
    brotli: u64,
}

impl Sizes {
    fn add(&mut self, other: &Sizes) {
        self.raw += other.raw;
        self.gzip += other.gzip;
        self.brotli += other.brotli;
    }
}

/// Writes `<file>.gz` (`gzip -9`) and `<file>.br` (`brotli -q 11`) beside
/// each of the console's files, which `vigil serve` sends to browsers that
/// accept them, and checks that each decompresses to the file itself.
fn precompress(files: &[PathBuf]) -> Result<Vec<(PathBuf, Sizes)>> {
    tools::ensure_brotli()?;
    let mut sizes = Vec::new();
    for file in files
        .iter()
        .filter(|p| p.is_file() && !p.extension().is_some_and(|e| e == "gz" || e == "br"))
    {
        let original = fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut s = Sizes {
            raw: original.len() as u64,
            ..Sizes::default()
        };
        for (tool, args, ext) in [
            ("gzip", ["-9", "-n", "-c"].as_slice(), "gz"),
            ("brotli", ["-q", "11", "-c"].as_slice(), "br"),
        ] {
            let out = Command::new(tool)
                .args(args)
                .arg(file)
                .output()
                .map_err(|e| format!("{tool}: {e}"))?;
            if !out.status.success() {
                return Err(format!("{tool} {} failed", file.display()));
            }
            let back = decompressed(tool, &out.stdout).map_err(|e| format!("{tool} -d: {e}"))?;
            if back != original {
                return Err(format!(
                    "{tool}'s copy of {} does not decompress to the file",
                    file.display()
                ));
            }
            let mut name = file.as_os_str().to_owned();
            name.push(format!(".{ext}"));
            fs::write(&name, &out.stdout).map_err(|e| format!("writing {name:?}: {e}"))?;
            match ext {
                "gz" => s.gzip = out.stdout.len() as u64,
                _ => s.brotli = out.stdout.len() as u64,
            }
        }
        sizes.push((file.clone(), s));
    }
    Ok(sizes)
}

/// What `tool -dc` makes of `input` (it decompresses), if it succeeds.
fn decompressed(tool: &str, input: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut child = Command::new(tool)
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or(std::io::ErrorKind::BrokenPipe)?;
    let input = input.to_vec();
    // Written from another thread: the output may fill its pipe first.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output()?;
    let _ = writer.join();
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(std::io::Error::other(format!("exited with {}", out.status)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_glue_takes_the_names_wasm_opt_gave() {
        let map = r#"{
 "imports": [
  ["./app_bg.js", "__wbg_log_0123456789abcdef", "a"],
  ["./app_bg.js", "__wbg_logs_0123456789abcdef", "b"]
 ],
"exports": [
  ["memory", "c"],
  ["main", "d"]
 ]
}
"#;
        let renamed = Renamed::parse(map);
        assert_eq!(renamed.imports.len(), 2);
        assert_eq!(
            renamed.exports,
            [("memory".into(), "c".into()), ("main".into(), "d".into())]
        );
        let glue = r#"const import0 = { __wbg_log_0123456789abcdef: f, __wbg_logs_0123456789abcdef: g };
return { "./app_bg.js": import0 }; new Uint8Array(wasm.memory.buffer); wasm.memoryx;"#;
        assert_eq!(
            renamed.apply(glue).unwrap(),
            r#"const import0 = { a: f, b: g };
return { "a": import0 }; new Uint8Array(wasm.c.buffer); wasm.memoryx;"#
        );
        let missing = glue.replace("__wbg_logs_0123456789abcdef", "other");
        assert!(
            renamed.apply(&missing).is_err(),
            "an import the glue lacks stops the build"
        );
    }
}
