//! The bundle's file names. cargo-leptos writes their content hashes to `hash.txt`
//! beside the binary; leptos' own `HashedStylesheet` and `HydrationScripts` read that
//! file again for every page (a readlink, a stat, an open and a read each: about an
//! eighth of an anonymous page's CPU). In production the files cannot change under a
//! running server, so the names are read once; `cargo leptos watch` rebuilds the CSS
//! without a restart, so there they are read each time, as leptos does.

use leptos::config::{Env, LeptosOptions};
use std::sync::OnceLock;

pub struct Bundle {
    pub css: String,
    pub js: String,
    pub wasm: String,
}

pub fn bundle(options: &LeptosOptions) -> Bundle {
    static ONCE: OnceLock<(String, String, String)> = OnceLock::new();
    let (css, js, wasm) =
        if options.env == Env::PROD { ONCE.get_or_init(|| read(options)).clone() } else { read(options) };
    Bundle { css, js, wasm }
}

/// `/pkg/<name>.<hash>.css`, `.js` and `.wasm`.
fn read(options: &LeptosOptions) -> (String, String, String) {
    let name = options.output_name.as_ref();
    let pkg = format!("/{}", options.site_pkg_dir);
    let hashes = options.hash_files.then(|| hash_file(options)).flatten().unwrap_or_default();
    let hash = |kind: &str| {
        hashes
            .lines()
            .filter_map(|line| line.trim().split_once(':'))
            .find(|(file, _)| *file == kind)
            .map(|(_, hash)| format!(".{}", hash.trim()))
            .unwrap_or_default()
    };
    // Without hashes, wasm-bindgen's own name for the module, unless cargo-leptos named it.
    let wasm_suffix = if hashes.is_empty() && option_env!("LEPTOS_OUTPUT_NAME").is_none() { "_bg" } else { "" };
    (
        format!("{pkg}/{name}{}.css", hash("css")),
        format!("{pkg}/{name}{}.js", hash("js")),
        format!("{pkg}/{name}{wasm_suffix}{}.wasm", hash("wasm")),
    )
}

fn hash_file(options: &LeptosOptions) -> Option<String> {
    let path = std::env::current_exe().ok()?.parent()?.join(options.hash_file.as_ref());
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(error) => {
            tracing::error!(path = %path.display(), %error, "file hashing is on but the hash file cannot be read");
            None
        }
    }
}
