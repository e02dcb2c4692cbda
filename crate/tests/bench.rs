//! Panel timings with 10,000 jobs, printed beside the budget (not asserted: timings vary
//! by machine). Run optimised, as it ships:
//! `cargo test --release -p parallel-cell-core --target wasm32-unknown-unknown --test bench`
#![cfg(target_arch = "wasm32")]

use std::rc::Rc;

use parallel_cell_core::panel::Panel;
use parallel_cell_core::protocol::{Finished, Hello, JobState, KernelMsg, Origin, Started};
use parallel_cell_core::scheduler::{Effect, Scheduler, Submit};
use parallel_cell_core::Core;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const JOBS: usize = 10_000;
const K: &str = "kernel-1";

fn now() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn hello() -> KernelMsg {
    KernelMsg::Hello(Hello {
        protocol: 1,
        runtime: "0.1.0".into(),
        python: "3.11".into(),
        ipykernel: "7.4.0".into(),
        implementation: "ipython".into(),
    })
}

fn started(id: &str) -> KernelMsg {
    KernelMsg::Started(Started {
        job_id: id.into(),
        num: 1,
        cell_id: None,
        notebook: None,
        started_at: 0.0,
        origin: Origin::Frontend,
    })
}

fn report(what: &str, ms: f64, budget: f64) {
    let verdict = if ms <= budget { "within" } else { "OVER" };
    let line = format!("bench: {what}: {ms:.3} ms (budget {budget} ms, {verdict})");
    console_log!("{line}");
}

#[wasm_bindgen_test]
fn panel_with_10000_jobs() {
    let document = web_sys::window().unwrap().document().unwrap();
    let mut s = Scheduler::new(JOBS);
    s.receive(K, hello(), 0.0);
    let ids: Vec<String> = (0..JOBS).map(|i| format!("job-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let cell = format!("cell-{i}");
        let notebook = format!("notebooks/analysis-{}.ipynb", i % 20);
        let code = format!("for step in range({i}):\n    train(step)");
        let submit = Submit {
            job_id: id,
            kernel_id: K,
            notebook: &notebook,
            cell_id: &cell,
            code: &code,
            after: None,
        };
        s.submit(submit, 0.0).unwrap();
        if i % 2 == 0 {
            s.receive(K, started(id), 0.0);
        }
    }

    // Full render: 10,000 rows from nothing, in a live document, then forced layout.
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    let t0 = now();
    let mut panel = Panel::new(&root, Rc::new(|_| {})).unwrap();
    for job in s.jobs() {
        panel.upsert(job, 1000.0).unwrap();
    }
    panel.flush().unwrap();
    let built = now() - t0;
    let _ = root
        .dyn_ref::<web_sys::HtmlElement>()
        .map(|e| e.offset_height());
    let laid_out = now() - t0;
    assert_eq!(panel.len(), JOBS);
    report("full render of 10,000 rows (DOM built)", built, 30.0);
    report(
        "full render of 10,000 rows (incl. first layout)",
        laid_out,
        30.0,
    );

    // One state change: the scheduler's effects applied to the panel.
    let mut times = Vec::new();
    for i in (1..JOBS).step_by(97).take(50) {
        let msg = KernelMsg::Finished(Finished {
            job_id: ids[i].clone(),
            state: JobState::Done,
            ended_at: 1.0,
            error: None,
            assigned: vec![],
        });
        let t = now();
        for e in s.receive(K, msg, 2000.0) {
            if let Effect::RowChanged { job_id } = e {
                panel.upsert(s.job(&job_id).unwrap(), 2000.0).unwrap();
            }
        }
        panel.flush().unwrap();
        times.push(now() - t);
    }
    report(
        "one state change, scheduler + panel (median of 50)",
        median(times),
        1.0,
    );

    // The same through the JS surface: decode, scheduler, panel, effects to a JS callback.
    drop(panel);
    let root2: web_sys::HtmlElement = document.create_element("div").unwrap().dyn_into().unwrap();
    document.body().unwrap().append_child(&root2).unwrap();
    let noop = Closure::<dyn FnMut(JsValue)>::new(|_| {});
    let core = Core::new(
        root2.clone(),
        noop.as_ref().unchecked_ref::<js_sys::Function>().clone(),
        JOBS as f64,
    )
    .unwrap();
    let parse = |text: &str| js_sys::JSON::parse(text).unwrap();
    core.receive(K, parse(r#"{"type":"hello","protocol":1,"runtime":"0","python":"3","ipykernel":"7","implementation":"ipython"}"#));
    for id in &ids {
        core.submit(id, K, "nb.ipynb", "cell", "x = 1").unwrap();
    }
    let mut times = Vec::new();
    for i in (0..JOBS).step_by(101).take(50) {
        let msg = parse(&format!(
            r#"{{"type":"started","job_id":"{}","num":1,"cell_id":"cell","notebook":"nb.ipynb","started_at":1,"origin":"frontend"}}"#,
            ids[i]
        ));
        let t = now();
        core.receive(K, msg);
        times.push(now() - t);
    }
    assert_eq!(core.job_state(&ids[0]).as_deref(), Some("running"));
    report(
        "one state change via Core.receive, end to end (median of 50)",
        median(times),
        1.0,
    );
    drop(core);
    root.remove();
    root2.remove();
}
