//! The panel and the JS surface in a real browser (headless Chromium):
//! `cargo test --target wasm32-unknown-unknown --test web`. One test target (the scripts
//! run `--test web`), split by noun into `web/`.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::wasm_bindgen_test_configure;

wasm_bindgen_test_configure!(run_in_browser);

mod common;
#[path = "web/dask.rs"]
mod dask;
#[path = "web/harness.rs"]
mod harness;
#[path = "web/js_values.rs"]
mod js_values;
#[path = "web/kernel_text.rs"]
mod kernel_text;
#[path = "web/pages.rs"]
mod pages;
#[path = "web/panel.rs"]
mod panel;
#[path = "web/queue.rs"]
mod queue;
#[path = "web/surface.rs"]
mod surface;
#[path = "web/words.rs"]
mod words;
