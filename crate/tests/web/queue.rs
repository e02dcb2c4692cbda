//! The kernel's queue in the panel, in a real browser: what a queued row waits for
//! (`waits-for`), threads still running (`threads`), a trimmed log (`log-note`), a note
//! about the cell (`cell-note`), a cell found under a new id, rows the kernel cleared;
//! kernel and cell text stays text.

use serde_json::json;
use wasm_bindgen_test::*;

use super::harness::*;

fn waits_for(h: &Harness, id: &str) -> Option<String> {
    h.row(id)
        .query_selector("[data-role=\"waits-for\"]")
        .unwrap()
        .and_then(|e| e.text_content())
}

fn queued(id: &str, num: u64, after: Option<&str>) -> serde_json::Value {
    json!({"type": "queued", "job_id": id, "num": num, "cell_id": format!("cell-{id}"),
           "notebook": "nb.ipynb", "origin": "frontend", "after": after, "source_hash": null})
}

#[wasm_bindgen_test]
fn a_queued_row_says_what_it_waits_for() {
    let h = Harness::new();
    h.receive(hello());
    h.submit("a", "train(<b>model</b>)");
    h.submit_after("b", "plot()", "a");
    assert_eq!(
        waits_for(&h, "a").as_deref(),
        Some("waits for a free slot in the kernel")
    );
    assert_eq!(
        waits_for(&h, "b").as_deref(),
        Some("waits for train(<b>model</b>)"),
        "no number yet"
    );
    h.receive(queued("a", 3, None));
    assert_eq!(
        waits_for(&h, "b").as_deref(),
        Some("waits for job 3: train(<b>model</b>)")
    );
    // a runs: its row waits for nothing; b still waits for a.
    h.receive(started("a"));
    assert_eq!(waits_for(&h, "a"), None);
    assert_eq!(h.count("[data-role=\"waits-for\"]"), 1);
    // a ended well: b waits for a slot.
    h.receive(
        json!({"type": "finished", "job_id": "a", "state": "done", "ended_at": 2.0,
                     "error": null, "assigned": []}),
    );
    assert_eq!(
        waits_for(&h, "b").as_deref(),
        Some("waits for a free slot in the kernel")
    );
    // Another page's job after one this page does not show.
    h.receive(queued("x", 9, Some("elsewhere")));
    assert_eq!(waits_for(&h, "x").as_deref(), Some("waits for another job"));
    // A Dask job waiting for a worker says so where it says where it runs.
    h.core
        .submit("d", K, "nb.ipynb", "cell-d", "1", None, Some("dask".into()))
        .unwrap();
    assert_eq!(waits_for(&h, "d"), None);
    assert_eq!(
        h.part("d", "[data-role=\"where\"]")
            .text_content()
            .as_deref(),
        Some("Dask · waiting for a worker")
    );
    for tag in ["b", "script", "img"] {
        assert_eq!(h.count(tag), 0, "a <{tag}> element from a title");
    }
}

#[wasm_bindgen_test]
fn waits_for_is_translated() {
    let h = Harness::new();
    h.receive(hello());
    h.submit("a", "train()");
    h.submit_after("b", "plot()", "a");
    h.receive(queued("a", 1, None));
    for s in [
        "waits for job {n}: {title}",
        "waits for a free slot in the kernel",
        "waits for another job",
        "waits for {title}",
    ] {
        assert!(h.strings().iter().any(|x| x == s), "{s}");
    }
    let map = json!({
        "waits for job {n}: {title}": "attend la tâche {n} : {title}",
        "waits for a free slot in the kernel": "attend une place dans le noyau",
    });
    h.core
        .set_strings(js_sys::JSON::parse(&map.to_string()).unwrap());
    assert_eq!(
        waits_for(&h, "b").as_deref(),
        Some("attend la tâche 1 : train()")
    );
    assert_eq!(
        waits_for(&h, "a").as_deref(),
        Some("attend une place dans le noyau")
    );
}

#[wasm_bindgen_test]
fn a_row_says_how_many_threads_of_its_job_still_run() {
    let h = Harness::new();
    h.receive(hello());
    h.submit("a", "1");
    h.receive(
        json!({"type": "finished", "job_id": "a", "state": "done", "ended_at": 2.0,
                     "error": null, "assigned": []}),
    );
    assert_eq!(h.count("[data-role=\"threads\"]"), 0);
    h.receive(json!({"type": "threads", "job_id": "a", "running": 2}));
    let line = || {
        h.part("a", "[data-role=\"threads\"]")
            .text_content()
            .unwrap_or_default()
    };
    assert_eq!(line(), "threads it started still running: 2");
    h.receive(json!({"type": "threads", "job_id": "a", "running": 1}));
    assert_eq!(line(), "threads it started still running: 1");
    assert_eq!(
        h.row("a").get_attribute("data-job-state").as_deref(),
        Some("done")
    );
    h.receive(json!({"type": "threads", "job_id": "a", "running": 0}));
    assert_eq!(h.count("[data-role=\"threads\"]"), 0);
}

#[wasm_bindgen_test]
fn log_and_cell_notes_are_text() {
    let h = Harness::new();
    h.receive(hello());
    h.submit("a", "1");
    let evil = "<img src=x onerror=\"window.__pc_pwned=1\"><script>window.__pc_pwned=1</script>";
    h.receive(
        json!({"type": "finished", "job_id": "a", "state": "done", "ended_at": 2.0,
                     "error": null, "assigned": []}),
    );
    h.receive(json!({"type": "log_trimmed", "job_id": "a", "reason": evil}));
    assert_eq!(
        h.part("a", "[data-role=\"log-note\"]")
            .text_content()
            .as_deref(),
        Some(evil)
    );
    h.core.set_cell_note("a", Some(evil.to_owned()));
    assert_eq!(
        h.part("a", "[data-role=\"cell-note\"]")
            .text_content()
            .as_deref(),
        Some(evil)
    );
    // The lines keep their order under the live line: cell note, then log note.
    let notes = h
        .row("a")
        .query_selector_all("[data-role$=\"note\"]")
        .unwrap();
    let roles: Vec<String> = (0..notes.length())
        .filter_map(|i| notes.item(i))
        .filter_map(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok())
        .filter_map(|e| e.get_attribute("data-role"))
        .collect();
    assert_eq!(roles, ["cell-note", "log-note"]);
    h.core.set_cell_note("a", None);
    assert_eq!(h.count("[data-role=\"cell-note\"]"), 0);
    h.core.set_cell_note("nope", Some("x".into())); // ignored
                                                    // The waits-for line of a queued job carries the title as text too.
    h.submit("b", evil);
    h.core
        .submit("c", K, "nb.ipynb", "cell-c", "2", Some("b".into()), None)
        .unwrap();
    assert_eq!(waits_for(&h, "c"), Some(format!("waits for {evil}")));
    for tag in ["script", "img"] {
        assert_eq!(
            h.count(tag),
            0,
            "a <{tag}> element from kernel or cell text"
        );
    }
    let pwned = js_sys::Reflect::get(&js_sys::global(), &"__pc_pwned".into()).unwrap();
    assert!(pwned.is_undefined());
}

#[wasm_bindgen_test]
fn rebind_cell_and_cleared_rows() {
    let h = Harness::new();
    h.receive(hello());
    // A reloaded page adopts an ended job whose cell got a new id on load.
    h.receive(json!({"type": "jobs", "jobs": [{
        "job_id": "r", "num": 1, "cell_id": "old-cell", "notebook": "nb.ipynb",
        "state": "done", "started_at": 1.0, "ended_at": 2.0, "next_seq": 0,
        "error": null, "assigned": [], "origin": "frontend", "after": null,
        "source_hash": "0b1c2d3e4f5a6b7c", "superseded": false, "log_trimmed": null}]}));
    let adopted = h
        .take()
        .into_iter()
        .find(|e| e["kind"] == "adopted")
        .unwrap();
    assert_eq!(adopted["state"], "done");
    assert_eq!(adopted["superseded"], false);
    assert_eq!(adopted["source_hash"], "0b1c2d3e4f5a6b7c");
    h.core.rebind_cell("r", "new-cell").unwrap();
    assert_eq!(
        h.take(),
        [
            json!({"kind": "cell_state", "job_id": "r", "notebook": "nb.ipynb",
                "cell_id": "new-cell", "state": "done"})
        ]
    );
    assert!(h.core.rebind_cell("r", "<b>").is_err());
    h.core.replay("r", 0.0);
    h.take();
    h.receive(json!({"type": "output", "job_id": "r", "seq": 0,
                     "outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}]}));
    let outputs = h
        .take()
        .into_iter()
        .find(|e| e["kind"] == "outputs")
        .unwrap();
    assert_eq!(outputs["cell_id"], "new-cell");
    // Clear finished asks the kernel to forget it; its `cleared` (to every page) drops
    // rows the other pages still show.
    h.core.clear_finished();
    let effects = h.take();
    assert!(effects.contains(&json!({"kind": "send", "kernel_id": K,
        "message": {"type": "clear", "job_ids": ["r"]}})));
    h.submit("s", "1");
    h.receive(
        json!({"type": "finished", "job_id": "s", "state": "done", "ended_at": 2.0,
                     "error": null, "assigned": []}),
    );
    h.receive(json!({"type": "cleared", "job_ids": ["s", "r"]}));
    assert_eq!(h.count("[data-job-id]"), 0);
    assert_eq!(h.core.job_state("s"), None);
}

#[wasm_bindgen_test]
fn a_row_names_what_another_cell_rebinds_as_text() {
    let h = Harness::new();
    h.receive(hello());
    h.submit("a", "for u in urls: acc_pages[u] = 1");
    h.receive(started("a"));
    assert_eq!(h.count("[data-role=\"conflict\"]"), 0);
    h.take();
    let evil = "<img/src=x/onerror=window.__pc_pwned=1>";
    h.receive(json!({"type": "conflict", "job_id": "a", "names": ["acc_pages", evil], "by": null}));
    let line = h
        .part("a", "[data-role=\"conflict\"]")
        .text_content()
        .unwrap_or_default();
    assert_eq!(
        line,
        format!("another cell rebinds names this job uses: acc_pages, {evil}")
    );
    assert_eq!(h.count("img"), 0, "kernel text stays text");
    let fx = h.take();
    let warning = fx
        .iter()
        .find(|e| e["kind"] == "conflict")
        .expect("a conflict effect");
    assert_eq!(warning["job_id"], "a");
    assert_eq!(warning["names"], json!(["acc_pages", evil]));
    assert!(warning["by"].is_null());
    assert!(warning["job"].as_str().unwrap().contains("acc_pages"));
}
