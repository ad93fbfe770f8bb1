//! The bundle's file names. cargo-leptos writes their content hashes to `hash.txt`
//! beside the binary; leptos' own `HashedStylesheet` and `HydrationScripts` read that
//! file again for every page (a readlink, a stat, an open and a read each: about an
//! eighth of an anonymous page's CPU). In production the files cannot change under a
//! running server, so the names are read once; `cargo leptos watch` rebuilds the CSS
//! without a restart, so there they are read each time, as leptos does.
//!
//! The split build (`cargo leptos --split`) adds a manifest: which WASM files each
//! on-demand page needs. Given to leptos as `WasmSplitManifest`, it lets the server
//! preload the files of the page it renders, so they download beside the main module.

use leptos::{
    config::{Env, LeptosOptions},
    prelude::ArcStoredValue,
    WasmSplitManifest,
};
use std::{collections::HashMap, sync::OnceLock};

#[derive(Clone)]
pub struct Bundle {
    pub css: String,
    pub js: String,
    pub wasm: String,
    pub split: Option<WasmSplitManifest>,
}

pub fn bundle(options: &LeptosOptions) -> Bundle {
    static ONCE: OnceLock<Bundle> = OnceLock::new();
    if options.env == Env::PROD {
        ONCE.get_or_init(|| read(options)).clone()
    } else {
        read(options)
    }
}

/// `/pkg/<name>.<hash>.css`, `.js` and `.wasm`, and the split manifest if there is one.
fn read(options: &LeptosOptions) -> Bundle {
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
    let manifest =
        format!("{}/{}/__wasm_split_manifest{}.json", options.site_root, options.site_pkg_dir, hash("manifest"));
    let split = std::fs::read_to_string(manifest).ok().and_then(|text| {
        let preloads: HashMap<String, Vec<String>> = serde_json::from_str(&text)
            .inspect_err(|error| tracing::error!(%error, "the WASM split manifest cannot be read"))
            .ok()?;
        // Unhashed, cargo-leptos keeps the loader's placeholder name.
        let loader = match hash("split") {
            hash if hash.is_empty() => "__wasm_split.______________________.js".to_string(),
            hash => format!("__wasm_split{hash}.js"),
        };
        Some(WasmSplitManifest(ArcStoredValue::new((pkg.clone(), preloads, loader))))
    });
    Bundle {
        css: format!("{pkg}/{name}{}.css", hash("css")),
        js: format!("{pkg}/{name}{}.js", hash("js")),
        wasm: format!("{pkg}/{name}{wasm_suffix}{}.wasm", hash("wasm")),
        split,
    }
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
