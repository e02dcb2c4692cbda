//! The JS surface in a real browser: bad input never throws (or throws a real `Error`),
//! lists of kernel messages, submits and dependencies, deep and odd values, mutated messages, dropping the core.

use parallel_cell_core::Core;

use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

use super::harness::*;
use crate::common;

const GOLDEN_KERNEL: [&str; 15] = [
    include_str!("../../../tests/golden/kernel/cancelling.json"),
    include_str!("../../../tests/golden/kernel/cleared.json"),
    include_str!("../../../tests/golden/kernel/log_trimmed.json"),
    include_str!("../../../tests/golden/kernel/queued.json"),
    include_str!("../../../tests/golden/kernel/jobs_ended.json"),
    include_str!("../../../tests/golden/kernel/error.json"),
    include_str!("../../../tests/golden/kernel/finished_done.json"),
    include_str!("../../../tests/golden/kernel/finished_error.json"),
    include_str!("../../../tests/golden/kernel/finished_killed.json"),
    include_str!("../../../tests/golden/kernel/hello.json"),
    include_str!("../../../tests/golden/kernel/jobs.json"),
    include_str!("../../../tests/golden/kernel/output_rich.json"),
    include_str!("../../../tests/golden/kernel/output_stream.json"),
    include_str!("../../../tests/golden/kernel/started.json"),
    include_str!("../../../tests/golden/kernel/started_from_kernel.json"),
];

#[wasm_bindgen_test]
fn bad_input_is_a_problem_not_a_throw() {
    let h = Harness::new();
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
fn a_list_is_its_messages_in_order() {
    // What the kernel sent in one go: the same effects and rows as one message at a time.
    let messages = vec![
        hello(),
        started("a"),
        json!({"type": "frobnicate"}),
        finished_error("a", &["Traceback", "ZeroDivisionError"]),
        started("b"),
    ];
    let (one_go, one_by_one) = (Harness::new(), Harness::new());
    one_go.receive(Value::Array(messages.clone()));
    for m in messages {
        one_by_one.receive(m);
    }
    let effects = one_go.take();
    assert_eq!(effects, one_by_one.take());
    assert_eq!(
        kinds(&effects).iter().filter(|k| *k == "problem").count(),
        1
    );
    for h in [&one_go, &one_by_one] {
        let state = |id| h.row(id).get_attribute("data-job-state");
        assert_eq!(state("a").as_deref(), Some("error"));
        assert_eq!(state("b").as_deref(), Some("running"));
    }
}

#[wasm_bindgen_test]
fn invalid_submit_throws_an_error() {
    let h = Harness::new();
    let err = JsValue::from(
        h.core
            .submit("bad id", K, "nb", "c", "1", None, None)
            .unwrap_err(),
    );
    assert!(err.is_instance_of::<js_sys::Error>());
    let message: String = err.unchecked_into::<js_sys::Error>().message().into();
    assert!(message.contains("job_id"), "{message}");
    h.submit("a", "1");
    assert!(
        h.core.submit("a", K, "nb", "c", "1", None, None).is_err(),
        "duplicate ids are refused"
    );
    assert_eq!(h.count("[data-job-id]"), 1);
}

#[wasm_bindgen_test]
fn kernel_lost() {
    let h = Harness::new();
    h.receive(hello());
    h.submit("a", "1");
    h.submit("b", "2");
    assert_eq!(h.core.job_state("b").as_deref(), Some("queued"));
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
fn submit_goes_at_once_with_after_and_source_hash() {
    let h = Harness::new();
    h.receive(hello());
    h.submit("a", "x = 1");
    h.submit_after("b", "y = x", "a");
    assert!(h
        .core
        .submit("c", K, "nb.ipynb", "cell-c", "1", Some("nope".into()), None)
        .is_err());
    let sent: Vec<Value> = h
        .take()
        .into_iter()
        .filter(|e| e["kind"] == "send")
        .collect();
    assert_eq!(
        sent.iter()
            .map(|e| e["message"]["type"].clone())
            .collect::<Vec<_>>(),
        ["list", "submit", "submit"]
    );
    assert_eq!(
        sent[2]["message"],
        json!({"type": "submit", "job_id": "b", "cell_id": "cell-b", "notebook": "nb.ipynb",
               "code": "y = x", "after": "a", "source_hash": h.core.source_hash("y = x")})
    );
    assert_eq!(h.core.source_hash(""), "cbf29ce484222325");
    assert_eq!(
        h.row("b").get_attribute("data-job-state").as_deref(),
        Some("queued")
    );
}

#[wasm_bindgen_test]
fn deep_or_odd_values_are_problems_not_crashes() {
    let h = Harness::new();
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
    )
    .unwrap();
    core.receive(K, js_sys::JSON::parse(&hello().to_string()).unwrap());
    core.submit("a", K, "nb.ipynb", "cell-a", "1", None, None)
        .unwrap();
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

#[wasm_bindgen_test]
fn mutated_messages_through_the_js_surface() {
    let golden: Vec<Value> = GOLDEN_KERNEL
        .iter()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect();
    let h = Harness::new();
    let mut rng = common::Rng(0xB0A7);
    let (mut understood, mut refused) = (0, 0);
    for i in 0..3000 {
        if i % 40 == 0 {
            let id = *rng.pick(&common::IDS);
            let _ = h
                .core
                .submit(id, K, "nb.ipynb", "cell-1", "x = 1", None, None);
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

#[wasm_bindgen_test]
fn a_reloaded_page_replays_what_its_cell_lacks() {
    let h = Harness::new();
    h.receive(hello());
    h.receive(json!({"type": "jobs", "jobs": [{
        "job_id": "r", "num": 1, "cell_id": "cell-r", "notebook": "nb.ipynb",
        "state": "running", "started_at": 1.0, "ended_at": null, "next_seq": 3,
        "error": null, "assigned": [], "origin": "frontend"}]}));
    let adopted: Vec<Value> = h
        .take()
        .into_iter()
        .filter(|e| e["kind"] == "adopted")
        .collect();
    assert_eq!(
        adopted,
        [
            json!({"kind": "adopted", "job_id": "r", "wire_id": "r", "kernel_id": K,
                "notebook": "nb.ipynb", "cell_id": "cell-r", "next_seq": 3,
                "state": "running", "origin": "frontend", "superseded": false, "source_hash": null})
        ]
    );
    // The saved cell is up to seq 1: ask again from there.
    h.core.replay("r", 1.0);
    h.core.replay("r", f64::NAN); // ignored
    h.core.replay("r", -1.0); // ignored
    assert_eq!(
        h.take(),
        [json!({"kind": "send", "kernel_id": K,
                "message": {"type": "replay", "job_id": "r", "since": 1}})]
    );
    let out = |seq: u64, texts: &[&str]| {
        let outputs: Vec<Value> = texts
            .iter()
            .map(|t| json!({"output_type": "stream", "name": "stdout", "text": t}))
            .collect();
        json!({"type": "output", "job_id": "r", "seq": seq, "outputs": outputs})
    };
    h.receive(out(3, &["3"])); // live, before the replay: held
    assert!(h.take().is_empty());
    h.receive(out(1, &["1", "2", "3"])); // the replay
    let effects = h.take();
    let outputs: Vec<&Value> = effects.iter().filter(|e| e["kind"] == "outputs").collect();
    assert_eq!(outputs.len(), 1);
    let texts: Vec<&str> = outputs[0]["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["text"].as_str())
        .collect();
    assert_eq!(texts, ["1", "2", "3"]);
    assert_eq!(outputs[0]["next_seq"], 4);
}
