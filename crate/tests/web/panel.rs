//! The panel in a real browser: rows and the UI contract, keyed updates, kill, the
//! header, groups, the timer.

use std::rc::Rc;

use serde_json::{json, Value};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

use super::harness::*;

#[wasm_bindgen_test]
fn empty_panel_tells_how_to_start() {
    let h = Harness::new();
    let empty = h.root.query_selector(".pc-empty").unwrap().unwrap();
    assert!(!empty.has_attribute("hidden"));
    assert!(empty.text_content().unwrap().contains("Run in Background"));
    assert_eq!(h.count("[data-job-id]"), 0);
    h.submit("a", "1");
    assert!(empty.has_attribute("hidden"));
}

#[wasm_bindgen_test]
fn rows_follow_the_ui_contract() {
    let h = Harness::new();
    h.submit("a", "import time\ntime.sleep(1)");
    h.submit("b", "x = 1");
    assert_eq!(h.count("li[data-job-id]"), 2);
    assert_eq!(
        h.row("a").get_attribute("data-job-state").as_deref(),
        Some("queued")
    );
    for part in [
        "button[aria-label=\"Kill job\"]",
        "[data-role=\"elapsed\"]",
        "[data-role=\"last-line\"]",
        "button[data-action=\"goto\"]",
    ] {
        h.part("a", part);
    }
    assert_eq!(
        h.part("a", ".pc-job-title").text_content().as_deref(),
        Some("import time")
    );
    let list = h.row("a").parent_element().unwrap();
    assert_eq!(list.tag_name(), "UL");
    assert_eq!(list.get_attribute("role").as_deref(), Some("list"));
    assert_eq!(h.count("section.pc-group[data-notebook=\"nb.ipynb\"]"), 1);

    let effects = h.take();
    assert!(effects.contains(
        &json!({"kind": "cell_state", "job_id": "a", "notebook": "nb.ipynb",
                                      "cell_id": "cell-a", "state": "queued"})
    ));
    h.receive(hello());
    let effects = h.take();
    assert_eq!(
        effects[0],
        json!({"kind": "send", "kernel_id": K, "message": {"type": "list"}})
    );
    assert_eq!(
        effects[1],
        json!({"kind": "send", "kernel_id": K, "message": {"type": "submit", "job_id": "a",
               "cell_id": "cell-a", "notebook": "nb.ipynb", "code": "import time\ntime.sleep(1)",
               "source_hash": h.core.source_hash("import time\ntime.sleep(1)")}})
    );
}

#[wasm_bindgen_test]
fn a_state_change_touches_only_its_row() {
    let h = Harness::new();
    h.receive(hello());
    h.submit("a", "1");
    h.submit("b", "2");
    let row_b = h.row("b");
    let elapsed_b = h.part("b", "[data-role=\"elapsed\"]");
    let row_a = h.row("a");
    h.receive(started("a"));
    assert_eq!(h.core.job_state("a").as_deref(), Some("running"));
    assert_eq!(
        h.row("a").get_attribute("data-job-state").as_deref(),
        Some("running")
    );
    assert!(
        h.row("a").is_same_node(Some(&row_a)),
        "a's row is updated in place"
    );
    assert_eq!(
        h.part("a", "[data-role=\"elapsed\"]")
            .text_content()
            .as_deref(),
        Some("0s")
    );
    assert!(h.row("b").is_same_node(Some(&row_b)));
    assert!(h
        .part("b", "[data-role=\"elapsed\"]")
        .is_same_node(Some(&elapsed_b)));
    assert_eq!(
        h.row("b").get_attribute("data-job-state").as_deref(),
        Some("queued")
    );

    h.receive(json!({"type": "output", "job_id": "a", "seq": 0,
                     "outputs": [{"output_type": "stream", "name": "stdout", "text": "one\ntw"},
                                 {"output_type": "stream", "name": "stdout", "text": "o"}]}));
    assert_eq!(
        h.part("a", "[data-role=\"last-line\"]")
            .text_content()
            .as_deref(),
        Some("two")
    );
    let outputs = h
        .take()
        .into_iter()
        .find(|e| e["kind"] == "outputs")
        .unwrap();
    assert_eq!(outputs["cell_id"], "cell-a");
    assert_eq!(
        outputs["outputs"][0],
        json!({"output_type": "stream", "name": "stdout", "text": "one\ntw"})
    );

    h.receive(
        json!({"type": "finished", "job_id": "a", "state": "done", "ended_at": 3.0,
                     "error": null, "assigned": ["x"]}),
    );
    assert_eq!(
        h.row("a").get_attribute("data-job-state").as_deref(),
        Some("done")
    );
    let kill = h.part("a", "button[aria-label=\"Kill job\"]");
    assert!(kill.has_attribute("disabled") && kill.has_attribute("hidden"));
    assert!(h.row("b").is_same_node(Some(&row_b)));
    let notify = h
        .take()
        .into_iter()
        .find(|e| e["kind"] == "notify")
        .unwrap();
    assert_eq!(
        notify,
        json!({"kind": "notify", "job_id": "a", "notebook": "nb.ipynb",
                              "cell_id": "cell-a", "state": "done", "title": "1"})
    );
}

#[wasm_bindgen_test]
fn kill_click_sends_kill() {
    let h = Harness::new();
    h.receive(hello());
    h.submit("a", "while True: pass");
    h.receive(started("a"));
    h.take();
    let kill: HtmlElement = h
        .part("a", "button[aria-label=\"Kill job\"]")
        .dyn_into()
        .unwrap();
    kill.click();
    let effects = h.take();
    assert!(
        effects.contains(&json!({"kind": "send", "kernel_id": K,
                                 "message": {"type": "kill", "job_id": "a"}})),
        "{effects:?}"
    );
    assert_eq!(
        h.row("a").get_attribute("data-job-state").as_deref(),
        Some("cancelling")
    );
    h.receive(json!({"type": "cancelling", "job_id": "a", "reason": "in native code"}));
    assert_eq!(
        h.part("a", "[data-role=\"note\"]")
            .text_content()
            .as_deref(),
        Some("in native code")
    );
    h.receive(
        json!({"type": "finished", "job_id": "a", "state": "killed", "ended_at": 3.0,
                     "error": null, "assigned": []}),
    );
    assert_eq!(
        h.row("a").get_attribute("data-job-state").as_deref(),
        Some("killed")
    );
    assert_eq!(h.count("[data-role=\"note\"]"), 0);
}

#[wasm_bindgen_test]
fn header_actions_and_goto() {
    let h = Harness::new();
    h.receive(hello());
    h.submit("a", "1");
    // b's kernel has not said hello: b is not sent yet.
    h.core
        .submit("b", "kernel-2", "nb.ipynb", "cell-b", "2", None, None)
        .unwrap();
    h.take();
    let title: HtmlElement = h.part("a", ".pc-job-title").dyn_into().unwrap();
    title.click();
    assert_eq!(
        h.take(),
        [json!({"kind": "goto_cell", "notebook": "nb.ipynb", "cell_id": "cell-a"})]
    );

    let button = |action: &str| -> HtmlElement {
        h.root
            .query_selector(&format!("[data-action=\"{action}\"]"))
            .unwrap()
            .unwrap()
            .dyn_into()
            .unwrap()
    };
    assert!(button("clear-finished").has_attribute("disabled"));
    button("kill-all").click();
    let effects = h.take();
    assert!(
        kinds(&effects).contains(&"send".to_owned()),
        "a was sent: kill goes out"
    );
    assert_eq!(
        h.core.job_state("b").as_deref(),
        Some("killed"),
        "b was never sent"
    );
    assert!(!button("clear-finished").has_attribute("disabled"));
    button("clear-finished").click();
    assert_eq!(
        h.count("[data-job-id]"),
        1,
        "b is cleared, a (cancelling) stays"
    );
    assert_eq!(h.core.job_state("b"), None);
    // b's cell carries no job any more.
    assert_eq!(
        h.take(),
        [
            json!({"kind": "cell_state", "job_id": "b", "notebook": "nb.ipynb",
                "cell_id": "cell-b", "state": null})
        ]
    );
}

#[wasm_bindgen_test]
fn kernel_jobs_have_a_group_and_null_cells() {
    let h = Harness::new();
    h.receive(
        json!({"type": "started", "job_id": "k2", "num": 2, "cell_id": null,
                     "notebook": null, "started_at": 1.0, "origin": "kernel"}),
    );
    h.receive(json!({"type": "output", "job_id": "k2", "seq": 0,
                     "outputs": [{"output_type": "display_data", "data": {"text/plain": "x"},
                                  "metadata": {}}]}));
    let outputs = h
        .take()
        .into_iter()
        .find(|e| e["kind"] == "outputs")
        .unwrap();
    assert_eq!(outputs["cell_id"], Value::Null, "null, not undefined");
    assert_eq!(outputs["notebook"], Value::Null);
    assert_eq!(outputs["outputs"][0]["data"], json!({"text/plain": "x"}));
    assert_eq!(
        h.row("k2").get_attribute("data-job-state").as_deref(),
        Some("running")
    );
    assert!(
        h.part("k2", ".pc-job-title").has_attribute("disabled"),
        "no cell to go to"
    );
    assert_eq!(h.count("section.pc-group"), 1);
}

#[wasm_bindgen_test]
fn the_timer_runs_only_while_jobs_run() {
    use parallel_cell_core::panel::Panel;
    use parallel_cell_core::protocol::{JobState, KernelMsg, Target};
    use parallel_cell_core::scheduler::{Scheduler, Submit};

    let document = web_sys::window().unwrap().document().unwrap();
    let root = document.create_element("div").unwrap();
    let mut panel = Panel::new(&root, Rc::new(|_| {})).unwrap();
    let mut s = Scheduler::default();
    s.submit(
        Submit {
            job_id: "a",
            kernel_id: K,
            notebook: "n",
            cell_id: "c",
            code: "1",
            after: None,
            target: Target::Thread,
        },
        0.0,
    )
    .unwrap();
    let draw = |panel: &mut Panel, s: &Scheduler| {
        for job in s.jobs() {
            panel.upsert(job, s, 0.0).unwrap();
        }
        panel.flush(s).unwrap();
    };
    draw(&mut panel, &s);
    assert!(!panel.is_ticking(), "queued jobs do not tick");
    s.receive(
        K,
        KernelMsg::from_json(&started("a").to_string()).unwrap(),
        0.0,
    );
    draw(&mut panel, &s);
    assert!(panel.is_ticking());
    panel.tick(65_000.0);
    let elapsed = root
        .query_selector("[data-role=\"elapsed\"]")
        .unwrap()
        .unwrap();
    assert_eq!(elapsed.text_content().as_deref(), Some("1m 05s"));
    s.kernel_lost(K, 1.0);
    draw(&mut panel, &s);
    assert_eq!(s.job("a").unwrap().state, JobState::Lost);
    assert!(
        !panel.is_ticking(),
        "the interval is dropped when nothing runs"
    );
    drop(panel);
    assert_eq!(
        root.child_element_count(),
        0,
        "dropping the panel removes its DOM"
    );
}

#[wasm_bindgen_test]
async fn in_a_burst_the_panel_draws_once_a_second_and_misses_nothing() {
    use parallel_cell_core::panel::PACE_MS;
    let h = Harness::new();
    h.core.set_panel_pace(PACE_MS);
    for i in 0..20 {
        h.submit(&format!("j{i}"), "pass");
    }
    // 15 jobs' changes draw at once; from the 16th within 100 ms, one draw a pace later.
    assert_eq!(h.count("li[data-job-id]"), 15);
    h.receive(hello());
    h.receive(started("j0"));
    assert_eq!(
        h.row("j0").get_attribute("data-job-state").as_deref(),
        Some("queued")
    );
    sleep(PACE_MS + 100.0).await;
    assert_eq!(h.count("li[data-job-id]"), 20);
    assert_eq!(
        h.row("j0").get_attribute("data-job-state").as_deref(),
        Some("running")
    );
    // The burst over, a change draws at once again.
    sleep(PACE_MS + 100.0).await;
    h.core.kill("j19");
    assert_eq!(
        h.row("j19").get_attribute("data-job-state").as_deref(),
        Some("cancelling")
    );
}

#[wasm_bindgen_test]
fn a_renamed_notebooks_rows_move_to_its_new_group() {
    let h = Harness::new();
    h.submit("a", "1");
    h.submit("b", "2");
    assert_eq!(
        h.count("section.pc-group[data-notebook=\"nb.ipynb\"] li"),
        2
    );
    h.core.rename_notebook("nb.ipynb", "analysis.ipynb");
    assert_eq!(
        h.count("section.pc-group[data-notebook=\"nb.ipynb\"]"),
        0,
        "the old group goes"
    );
    assert_eq!(
        h.count("section.pc-group[data-notebook=\"analysis.ipynb\"] li"),
        2
    );
    let heading = h
        .root
        .query_selector("section.pc-group h3")
        .unwrap()
        .unwrap();
    assert_eq!(heading.text_content().as_deref(), Some("analysis.ipynb"));
    // A job that starts afterwards keeps its row where it is.
    h.receive(started("a"));
    assert_eq!(h.count("section.pc-group"), 1);
    assert_eq!(
        h.row("a").get_attribute("data-job-state").as_deref(),
        Some("running")
    );
}
