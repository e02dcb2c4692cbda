//! The panel and the JS surface in a real browser (headless Chromium):
//! `cargo test --target wasm32-unknown-unknown --test web`.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use parallel_cell_core::Core;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

mod common;

const K: &str = "kernel-1";

struct Harness {
    root: HtmlElement,
    core: Core,
    effects: Rc<RefCell<Vec<Value>>>,
    _on_effect: Closure<dyn FnMut(JsValue)>,
}

impl Harness {
    fn new(cap: f64) -> Harness {
        let document = web_sys::window().unwrap().document().unwrap();
        let root: HtmlElement = document.create_element("div").unwrap().dyn_into().unwrap();
        document.body().unwrap().append_child(&root).unwrap();
        let effects = Rc::new(RefCell::new(Vec::new()));
        let sink = effects.clone();
        let on_effect = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            let text: String = js_sys::JSON::stringify(&e).unwrap().into();
            sink.borrow_mut().push(serde_json::from_str(&text).unwrap());
        });
        let core = Core::new(
            root.clone(),
            on_effect
                .as_ref()
                .unchecked_ref::<js_sys::Function>()
                .clone(),
            cap,
        )
        .unwrap();
        Harness {
            root,
            core,
            effects,
            _on_effect: on_effect,
        }
    }

    fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.effects.borrow_mut())
    }

    fn receive(&self, msg: Value) {
        let js = js_sys::JSON::parse(&msg.to_string()).unwrap();
        self.core.receive(K, js);
    }

    fn submit(&self, id: &str, code: &str) {
        self.core
            .submit(id, K, "nb.ipynb", &format!("cell-{id}"), code)
            .unwrap();
    }

    fn row(&self, id: &str) -> Element {
        self.root
            .query_selector(&format!("[data-job-id=\"{id}\"]"))
            .unwrap()
            .unwrap_or_else(|| panic!("no row for {id}"))
    }

    fn part(&self, id: &str, selector: &str) -> Element {
        self.row(id)
            .query_selector(selector)
            .unwrap()
            .unwrap_or_else(|| panic!("row {id} has no {selector}"))
    }

    fn count(&self, selector: &str) -> u32 {
        self.root.query_selector_all(selector).unwrap().length()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.root.remove();
    }
}

fn hello() -> Value {
    json!({"type": "hello", "protocol": 1, "runtime": "0.1.0", "python": "3.11.7",
           "ipykernel": "7.4.0", "implementation": "ipython"})
}

fn started(id: &str) -> Value {
    json!({"type": "started", "job_id": id, "num": 1, "cell_id": format!("cell-{id}"),
           "notebook": "nb.ipynb", "started_at": 1.0, "origin": "frontend"})
}

fn finished_error(id: &str, traceback: &[&str]) -> Value {
    json!({"type": "finished", "job_id": id, "state": "error", "ended_at": 2.0,
           "error": {"ename": "ZeroDivisionError", "evalue": "division by zero", "traceback": traceback},
           "assigned": []})
}

fn kinds(effects: &[Value]) -> Vec<String> {
    effects
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or("?").to_owned())
        .collect()
}

#[wasm_bindgen_test]
fn empty_panel_tells_how_to_start() {
    let h = Harness::new(4.0);
    let empty = h.root.query_selector(".pc-empty").unwrap().unwrap();
    assert!(!empty.has_attribute("hidden"));
    assert!(empty.text_content().unwrap().contains("Run in Background"));
    assert_eq!(h.count("[data-job-id]"), 0);
    h.submit("a", "1");
    assert!(empty.has_attribute("hidden"));
}

#[wasm_bindgen_test]
fn rows_follow_the_ui_contract() {
    let h = Harness::new(4.0);
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
               "cell_id": "cell-a", "notebook": "nb.ipynb", "code": "import time\ntime.sleep(1)"}})
    );
}

#[wasm_bindgen_test]
fn a_state_change_touches_only_its_row() {
    let h = Harness::new(4.0);
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
fn traceback_is_text_with_colour_spans() {
    let h = Harness::new(4.0);
    h.receive(hello());
    h.submit("a", "1/0");
    h.receive(finished_error(
        "a",
        &[
            "\u{1b}[0;31m----\u{1b}[0m",
            "\u{1b}[0;31mZeroDivisionError\u{1b}[0m: division by zero",
        ],
    ));
    assert_eq!(
        h.row("a").get_attribute("data-job-state").as_deref(),
        Some("error")
    );
    let tb = h.part("a", "[data-role=\"traceback\"]");
    let text = tb.text_content().unwrap();
    assert_eq!(text, "----\nZeroDivisionError: division by zero");
    assert_eq!(
        tb.query_selector_all("span.pc-ansi-red-fg")
            .unwrap()
            .length(),
        2
    );
    let summary = h.part("a", "summary");
    assert_eq!(
        summary.text_content().as_deref(),
        Some("ZeroDivisionError: division by zero")
    );
    // Collapsed until asked for, and it opens without any script of ours.
    let details = h.part("a", "details");
    assert!(!details.has_attribute("open"));
    summary.dyn_into::<HtmlElement>().unwrap().click();
    assert!(details.has_attribute("open"));
}

#[wasm_bindgen_test]
fn kill_click_sends_kill() {
    let h = Harness::new(4.0);
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
    let h = Harness::new(1.0);
    h.receive(hello());
    h.submit("a", "1");
    h.submit("b", "2");
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
        "b was only queued"
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
fn kernel_text_stays_inert() {
    let h = Harness::new(4.0);
    h.receive(hello());
    let evil = "<script>window.__pc_pwned = 1</script><img src=x onerror=\"window.__pc_pwned=1\">";
    h.submit("a", evil);
    h.receive(started("a"));
    h.receive(json!({"type": "output", "job_id": "a", "seq": 0,
                     "outputs": [{"output_type": "stream", "name": "stderr", "text": evil}]}));
    h.receive(finished_error("a", &[evil]));
    h.receive(json!({"type": "started", "job_id": "k9", "num": 9, "cell_id": null,
                     "notebook": "<b>nb</b><img src=y onerror=alert(1)>", "started_at": 1.0, "origin": "kernel"}));
    for tag in ["script", "img", "b"] {
        assert_eq!(
            h.count(tag),
            0,
            "a <{tag}> element was created from kernel text"
        );
    }
    assert_eq!(
        h.part("a", ".pc-job-title").text_content().as_deref(),
        Some(evil)
    );
    assert_eq!(
        h.part("a", "[data-role=\"last-line\"]")
            .text_content()
            .as_deref(),
        Some(evil)
    );
    assert_eq!(
        h.part("a", "[data-role=\"traceback\"]")
            .text_content()
            .as_deref(),
        Some(evil)
    );
    let pwned = js_sys::Reflect::get(&js_sys::global(), &"__pc_pwned".into()).unwrap();
    assert!(pwned.is_undefined());
}

#[wasm_bindgen_test]
fn bad_input_is_a_problem_not_a_throw() {
    let h = Harness::new(4.0);
    let cases: Vec<JsValue> = vec![
        JsValue::UNDEFINED,
        JsValue::NULL,
        42.into(),
        "hello".into(),
        js_sys::JSON::parse(r#"{"type": "started"}"#).unwrap(),
        js_sys::JSON::parse(r#"{"type": "frobnicate"}"#).unwrap(),
        js_sys::JSON::parse(r#"{"type": "output", "job_id": "a", "seq": 1.5, "outputs": []}"#)
            .unwrap(),
        js_sys::JSON::parse(r#"{"type": "cancelling", "job_id": "<script>", "reason": null}"#)
            .unwrap(),
        js_sys::BigInt::from(7u64).into(),
        js_sys::Array::new().into(),
    ];
    let n = cases.len();
    for value in cases {
        h.core.receive(K, value);
    }
    let effects = h.take();
    assert_eq!(kinds(&effects), vec!["problem"; n]);
    // A kernel `error` message is a problem too.
    h.receive(json!({"type": "error", "message": "unknown message type", "job_id": null}));
    let effects = h.take();
    assert_eq!(kinds(&effects), ["problem"]);
    assert!(effects[0]["message"]
        .as_str()
        .unwrap()
        .contains("unknown message type"));
}

#[wasm_bindgen_test]
fn invalid_submit_throws_an_error() {
    let h = Harness::new(4.0);
    let err = JsValue::from(h.core.submit("bad id", K, "nb", "c", "1").unwrap_err());
    assert!(err.is_instance_of::<js_sys::Error>());
    let message: String = err.unchecked_into::<js_sys::Error>().message().into();
    assert!(message.contains("job_id"), "{message}");
    h.submit("a", "1");
    assert!(
        h.core.submit("a", K, "nb", "c", "1").is_err(),
        "duplicate ids are refused"
    );
    assert_eq!(h.count("[data-job-id]"), 1);
}

#[wasm_bindgen_test]
fn kernel_lost_and_cap() {
    let h = Harness::new(1.0);
    h.receive(hello());
    h.submit("a", "1");
    h.submit("b", "2");
    assert_eq!(h.core.job_state("b").as_deref(), Some("queued"));
    h.take();
    h.core.set_cap(2.0);
    let effects = h.take();
    assert_eq!(effects[0]["message"]["job_id"], "b");
    h.core.kernel_lost(K);
    assert_eq!(
        h.row("a").get_attribute("data-job-state").as_deref(),
        Some("lost")
    );
    assert_eq!(
        h.row("b").get_attribute("data-job-state").as_deref(),
        Some("lost")
    );
    assert_eq!(h.core.job_state("nope"), None);
}

#[wasm_bindgen_test]
fn kernel_jobs_have_a_group_and_null_cells() {
    let h = Harness::new(4.0);
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
    use parallel_cell_core::protocol::{JobState, KernelMsg};
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
        },
        0.0,
    )
    .unwrap();
    let draw = |panel: &mut Panel, s: &Scheduler| {
        for job in s.jobs() {
            panel.upsert(job, 0.0).unwrap();
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
fn submit_after_waits_for_its_dependency() {
    let h = Harness::new(4.0);
    h.receive(hello());
    h.submit("a", "x = 1");
    h.core
        .submit_after("b", K, "nb.ipynb", "cell-b", "y = x", "a")
        .unwrap();
    assert!(h
        .core
        .submit_after("c", K, "nb.ipynb", "cell-c", "1", "nope")
        .is_err());
    let sent: Vec<Value> = h
        .take()
        .into_iter()
        .filter(|e| e["kind"] == "send")
        .collect();
    assert_eq!(sent.len(), 2, "list and a's submit only: {sent:?}");
    assert_eq!(
        h.row("b").get_attribute("data-job-state").as_deref(),
        Some("queued")
    );
    h.receive(
        json!({"type": "finished", "job_id": "a", "state": "done", "ended_at": 2.0,
                     "error": null, "assigned": ["x"]}),
    );
    let sent: Vec<Value> = h
        .take()
        .into_iter()
        .filter(|e| e["kind"] == "send")
        .collect();
    assert_eq!(sent[0]["message"]["job_id"], "b");
}

#[wasm_bindgen_test]
fn big_panels_draw_a_page_at_a_time() {
    use parallel_cell_core::panel::PAGE;
    let h = Harness::new(1.0);
    h.receive(hello());
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
    use parallel_cell_core::panel::PAGE;
    let h = Harness::new(1.0);
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
        "all 190 remaining are drawn"
    );
    assert_eq!(h.count(&format!("[data-job-id=\"j{}\"]", PAGE + 9)), 1);
}

#[wasm_bindgen_test]
fn deep_or_odd_values_are_problems_not_crashes() {
    let h = Harness::new(4.0);
    h.receive(hello());
    h.submit("a", "display(JSON(deep))");
    h.take();
    let deep = |depth: usize, seq: u64| {
        let text = format!(
            r#"{{"type":"output","job_id":"a","seq":{seq},"outputs":[{{"output_type":"display_data","data":{{"application/json":{}1{}}},"metadata":{{}}}}]}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        js_sys::JSON::parse(&text).unwrap()
    };
    // Within the limit: an output. Beyond it (even far beyond): a problem, no crash.
    h.core.receive(K, deep(100, 0));
    assert_eq!(kinds(&h.take()), ["outputs"]);
    // The message's own 4 levels plus 123 is MAX_DEPTH (127), serde_json's limit.
    h.core.receive(K, deep(123, 1));
    assert_eq!(kinds(&h.take()), ["outputs"]);
    for depth in [124, 200, 5_000, 100_000] {
        h.core.receive(K, deep(depth, 2));
        assert_eq!(kinds(&h.take()), ["problem"], "depth {depth}");
    }
    // Values JSON cannot hold: a cycle, a nested BigInt, a function.
    let cyclic = js_sys::Object::new();
    js_sys::Reflect::set(&cyclic, &"type".into(), &"output".into()).unwrap();
    js_sys::Reflect::set(&cyclic, &"self".into(), &cyclic).unwrap();
    let with_bigint = js_sys::JSON::parse(r#"{"type": "cancelling", "job_id": "a"}"#).unwrap();
    js_sys::Reflect::set(
        &with_bigint,
        &"reason".into(),
        &js_sys::BigInt::from(1u64).into(),
    )
    .unwrap();
    let function: JsValue = js_sys::Function::new_no_args("return 1").into();
    for value in [cyclic.into(), with_bigint, function] {
        h.core.receive(K, value);
    }
    assert_eq!(kinds(&h.take()), ["problem", "problem", "problem"]);
    // The core still works afterwards.
    h.receive(started("a"));
    assert_eq!(h.core.job_state("a").as_deref(), Some("running"));
}

#[wasm_bindgen_test]
fn dropping_the_core_removes_the_panel() {
    let document = web_sys::window().unwrap().document().unwrap();
    let root: HtmlElement = document.create_element("div").unwrap().dyn_into().unwrap();
    let noop = Closure::<dyn FnMut(JsValue)>::new(|_: JsValue| {});
    let core = Core::new(
        root.clone(),
        noop.as_ref().unchecked_ref::<js_sys::Function>().clone(),
        4.0,
    )
    .unwrap();
    core.receive(K, js_sys::JSON::parse(&hello().to_string()).unwrap());
    core.submit("a", K, "nb.ipynb", "cell-a", "1").unwrap();
    core.receive(K, js_sys::JSON::parse(&started("a").to_string()).unwrap());
    assert_eq!(root.child_element_count(), 1);
    drop(core);
    assert_eq!(
        root.child_element_count(),
        0,
        "free() takes the panel's DOM with it"
    );
}

/// The kernel's golden messages, compiled in (the browser cannot read the repository).
const GOLDEN_KERNEL: [&str; 11] = [
    include_str!("../../tests/golden/kernel/cancelling.json"),
    include_str!("../../tests/golden/kernel/error.json"),
    include_str!("../../tests/golden/kernel/finished_done.json"),
    include_str!("../../tests/golden/kernel/finished_error.json"),
    include_str!("../../tests/golden/kernel/finished_killed.json"),
    include_str!("../../tests/golden/kernel/hello.json"),
    include_str!("../../tests/golden/kernel/jobs.json"),
    include_str!("../../tests/golden/kernel/output_rich.json"),
    include_str!("../../tests/golden/kernel/output_stream.json"),
    include_str!("../../tests/golden/kernel/started.json"),
    include_str!("../../tests/golden/kernel/started_from_kernel.json"),
];

#[wasm_bindgen_test]
fn mutated_messages_through_the_js_surface() {
    let golden: Vec<Value> = GOLDEN_KERNEL
        .iter()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect();
    let h = Harness::new(2.0);
    let mut rng = common::Rng(0xB0A7);
    let (mut understood, mut refused) = (0, 0);
    for i in 0..3000 {
        if i % 40 == 0 {
            let id = *rng.pick(&common::IDS);
            let _ = h.core.submit(id, K, "nb.ipynb", "cell-1", "x = 1");
        }
        let text = common::message_text(&mut rng, &golden);
        // The comm only ever hands over parsed JSON.
        let Ok(value) = js_sys::JSON::parse(&text) else {
            continue;
        };
        h.core.receive(K, value);
        for e in h.take() {
            match e["kind"].as_str() {
                Some("problem") => refused += 1,
                Some("send" | "outputs" | "adopted" | "cell_state" | "notify") => understood += 1,
                other => panic!("unexpected effect {other:?}: {e}"),
            }
        }
    }
    assert!(
        understood > 100 && refused > 300,
        "{understood} understood, {refused} refused"
    );
    for tag in ["script", "img"] {
        assert_eq!(h.count(tag), 0);
    }
    assert!(h.count("li[data-job-id]") > 0);
}
