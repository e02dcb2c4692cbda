//! Dask jobs in the panel, in a real browser: where a job runs, the dashboard link (web
//! URLs only), and the restart-worker question reaching JavaScript.

use serde_json::{json, Value};
use wasm_bindgen_test::*;

use super::harness::*;

const WORKER: &str = "tcp://127.0.0.1:40123";

fn submit_dask(h: &Harness, id: &str) {
    h.core
        .submit(
            id,
            K,
            "nb.ipynb",
            &format!("cell-{id}"),
            "total = sum(range(10**7))",
            None,
            Some("dask".into()),
        )
        .unwrap();
}

fn started_dask(id: &str, dashboard: &str) -> Value {
    json!({"type": "started", "job_id": id, "num": 1, "cell_id": format!("cell-{id}"),
           "notebook": "nb.ipynb", "started_at": 1.0, "origin": "frontend",
           "target": "dask", "worker": null, "dashboard": dashboard})
}

fn text_of(h: &Harness, id: &str, selector: &str) -> String {
    h.part(id, selector).text_content().unwrap_or_default()
}

#[wasm_bindgen_test]
fn a_row_says_where_its_job_runs_and_links_the_dashboard() {
    let h = Harness::new();
    h.receive(hello());
    h.submit("t", "x = 1");
    submit_dask(&h, "d");
    assert_eq!(text_of(&h, "t", "[data-role=\"where\"]"), "thread");
    assert_eq!(
        text_of(&h, "d", "[data-role=\"where\"]"),
        "Dask · waiting for a worker"
    );
    assert_eq!(h.count("[data-role=\"dashboard\"]"), 0, "no URL yet");

    h.receive(started_dask("d", "http://127.0.0.1:8787/status"));
    let row = h.row("d");
    assert_eq!(
        row.get_attribute("data-job-state").as_deref(),
        Some("queued")
    );
    let link = h.part("d", "a[data-role=\"dashboard\"]");
    assert_eq!(link.text_content().as_deref(), Some("Dashboard"));
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("http://127.0.0.1:8787/status")
    );
    assert_eq!(link.get_attribute("target").as_deref(), Some("_blank"));
    assert_eq!(
        link.get_attribute("rel").as_deref(),
        Some("noopener noreferrer")
    );

    h.receive(json!({"type": "placed", "job_id": "d", "worker": WORKER, "started_at": 1.0}));
    assert_eq!(
        row.get_attribute("data-job-state").as_deref(),
        Some("running")
    );
    assert_eq!(
        text_of(&h, "d", "[data-role=\"where\"]"),
        format!("Dask · {WORKER}")
    );
    assert_eq!(h.count("[data-role=\"dashboard\"]"), 1, "one link, kept");
    assert!(!text_of(&h, "d", "[data-role=\"elapsed\"]").is_empty());

    // Translated, as the rest of the panel.
    let map = json!({
        "Dask · {worker}": "Dask : {worker}",
        "thread": "fil",
        "Dashboard": "Tableau de bord",
    });
    h.core
        .set_strings(js_sys::JSON::parse(&map.to_string()).unwrap());
    assert_eq!(text_of(&h, "t", "[data-role=\"where\"]"), "fil");
    assert_eq!(
        text_of(&h, "d", "[data-role=\"where\"]"),
        format!("Dask : {WORKER}")
    );
    assert_eq!(
        text_of(&h, "d", "[data-role=\"dashboard\"]"),
        "Tableau de bord"
    );
    let strings = h.strings();
    for s in [
        "thread",
        "Dask · waiting for a worker",
        "Dask · {worker}",
        "Dashboard",
    ] {
        assert!(
            strings.iter().any(|x| x == s),
            "{s} is not offered for translation"
        );
    }
}

#[wasm_bindgen_test]
fn a_dashboard_that_is_not_a_web_url_is_no_link() {
    let h = Harness::new();
    h.receive(hello());
    for (id, url) in [
        ("a", "javascript:alert(1)"),
        ("b", "JAVASCRIPT:alert(1)"),
        ("c", "java\tscript:alert(1)"),
        ("d", "data:text/html,<script>alert(1)</script>"),
        ("e", " http://127.0.0.1:8787"),
    ] {
        submit_dask(&h, id);
        h.receive(started_dask(id, url));
    }
    assert_eq!(h.count("[data-role=\"dashboard\"]"), 0);
    assert_eq!(h.count("a"), 0, "no link of any kind");
    assert_eq!(h.count("script"), 0);
    // Kernel text as the worker's address stays text too.
    let evil = "<img src=x onerror=\"window.__pc_pwned=1\">";
    h.receive(json!({"type": "placed", "job_id": "a", "worker": evil, "started_at": 1.0}));
    assert_eq!(
        text_of(&h, "a", "[data-role=\"where\"]"),
        format!("Dask · {evil}")
    );
    assert_eq!(h.count("img"), 0);
    let pwned = js_sys::Reflect::get(&js_sys::global(), &"__pc_pwned".into()).unwrap();
    assert!(pwned.is_undefined());
}

#[wasm_bindgen_test]
fn a_second_kill_on_a_worker_asks_javascript_then_restarts_it() {
    let h = Harness::new();
    h.receive(hello());
    submit_dask(&h, "d");
    h.receive(json!({"type": "placed", "job_id": "d", "worker": WORKER, "started_at": 1.0}));
    h.take();
    h.core.kill("d");
    let fx = h.take();
    assert!(fx
        .iter()
        .any(|e| e["kind"] == "send" && e["message"] == json!({"type": "kill", "job_id": "d"})));
    h.core.kill("d");
    let fx = h.take();
    assert_eq!(
        fx,
        [json!({"kind": "confirm_restart", "job_id": "d", "worker": WORKER})]
    );
    h.core.restart_worker("d");
    assert_eq!(
        h.take(),
        [json!({"kind": "send", "kernel_id": K,
                "message": {"type": "kill", "job_id": "d", "restart_worker": true}})]
    );
    // A bad target is a thrown Error, as other bad input.
    assert!(h
        .core
        .submit("x", K, "nb.ipynb", "c", "1", None, Some("gpu".into()))
        .is_err());
    assert!(h.core.job_state("x").is_none());
}
