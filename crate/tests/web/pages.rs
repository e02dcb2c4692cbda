//! Big panels in a real browser: a page of rows at a time, "Show more", and undrawn jobs
//! drawn when rows are cleared.

use parallel_cell_core::panel::PAGE;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

use super::harness::*;

#[wasm_bindgen_test]
fn big_panels_draw_a_page_at_a_time() {
    // No `hello`: the jobs stay unsent, so a kill ends one here at once.
    let h = Harness::new();
    let n = PAGE + 50;
    for i in 0..n {
        h.submit(&format!("j{i}"), "1");
    }
    assert_eq!(h.count("li[data-job-id]") as usize, PAGE);
    let more: HtmlElement = h
        .root
        .query_selector("[data-action=\"show-more\"]")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    assert!(!more.has_attribute("hidden"));
    assert_eq!(
        more.text_content().as_deref(),
        Some("Show 50 more of 50 jobs not shown")
    );
    assert!(
        h.root
            .text_content()
            .unwrap()
            .contains(&format!("{n} queued")),
        "the header counts all"
    );
    // An undrawn job changes state: no row appears, the counts follow.
    let last = format!("j{}", n - 1);
    h.core.kill(&last);
    assert_eq!(h.core.job_state(&last).as_deref(), Some("killed"));
    assert_eq!(h.count(&format!("[data-job-id=\"{last}\"]")), 0);
    more.click();
    assert_eq!(h.count("li[data-job-id]") as usize, n);
    assert!(more.has_attribute("hidden"));
    assert_eq!(
        h.row(&last).get_attribute("data-job-state").as_deref(),
        Some("killed")
    );
    // Drawn rows keep arrival order within their group.
    let first = h.root.query_selector("li[data-job-id]").unwrap().unwrap();
    assert_eq!(first.get_attribute("data-job-id").as_deref(), Some("j0"));
}

#[wasm_bindgen_test]
fn clearing_rows_draws_the_undrawn() {
    let h = Harness::new();
    for i in 0..PAGE + 10 {
        h.submit(&format!("j{i}"), "1");
    }
    for i in 0..20 {
        h.core.kill(&format!("j{i}"));
    }
    h.core.clear_finished();
    assert_eq!(
        h.count("li[data-job-id]") as usize,
        PAGE - 10,
        "all 90 remaining are drawn"
    );
    assert_eq!(h.count(&format!("[data-job-id=\"j{}\"]", PAGE + 9)), 1);
}

#[wasm_bindgen_test]
fn a_reloads_jobs_get_their_rows_from_one_flush() {
    // A reload's `jobs` reply adopts every job at once; no RowChanged each: the flush
    // draws the first page, oldest first, in their states.
    let h = Harness::new();
    h.receive(hello());
    let jobs: Vec<serde_json::Value> = (0..PAGE + 5)
        .map(|i| {
            serde_json::json!({
                "job_id": format!("r{i}"), "num": i, "cell_id": null, "notebook": "nb.ipynb",
                "state": if i % 2 == 0 { "running" } else { "done" }, "started_at": 1.0,
                "ended_at": null, "next_seq": 0, "error": null, "assigned": [],
                "origin": "kernel"})
        })
        .collect();
    h.receive(serde_json::json!({"type": "jobs", "jobs": jobs}));
    assert_eq!(h.count("li[data-job-id]") as usize, PAGE);
    let first = h.root.query_selector("li[data-job-id]").unwrap().unwrap();
    assert_eq!(first.get_attribute("data-job-id").as_deref(), Some("r0"));
    assert_eq!(
        h.row("r1").get_attribute("data-job-state").as_deref(),
        Some("done")
    );
    assert_eq!(h.count(&format!("[data-job-id=\"r{PAGE}\"]")), 0);
}
