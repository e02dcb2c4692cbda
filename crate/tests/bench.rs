//! Panel timings with 10,000 jobs, printed beside the budget (not asserted: timings vary
//! by machine). Run optimised, as it ships:
//! `cargo test --release -p parallel-cell-core --target wasm32-unknown-unknown --test bench`
#![cfg(target_arch = "wasm32")]

use std::rc::Rc;

use parallel_cell_core::panel::{Panel, PAGE};
use parallel_cell_core::protocol::{Finished, Hello, JobState, KernelMsg, Origin, Target};
use parallel_cell_core::scheduler::{Effect, Scheduler, Submit};
use parallel_cell_core::Core;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

mod common;
use common::msgs::{kernel_head, thread_started};

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
        protocol: 2,
        runtime: "0.1.0".into(),
        python: "3.11".into(),
        ipykernel: "7.4.0".into(),
        implementation: "ipython".into(),
    })
}

fn started(id: &str) -> KernelMsg {
    let mut head = kernel_head(id, 1);
    head.from.origin = Origin::Frontend; // a page's job, with no cell to write
    KernelMsg::Started(thread_started(head, 0.0))
}

fn report(what: &str, ms: f64, budget: f64) {
    let verdict = if ms <= budget { "within" } else { "OVER" };
    let line = format!("bench: {what}: {ms:.3} ms (budget {budget} ms, {verdict})");
    console_log!("{line}");
}

#[wasm_bindgen_test]
fn panel_with_10000_jobs() {
    let document = web_sys::window().unwrap().document().unwrap();
    let mut s = Scheduler::new();
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
            target: Target::Thread,
        };
        s.submit(submit, 0.0).unwrap();
        if i % 2 == 0 {
            s.receive(K, started(id), 0.0);
        }
    }

    // The panel as it ships: with the extension's stylesheet (off-screen rows skip layout),
    // in a root the size of a sidebar that scrolls.
    let style = document.create_element("style").unwrap();
    style.set_text_content(Some(include_str!("../../labextension/style/base.css")));
    document.body().unwrap().append_child(&style).unwrap();
    // The stylesheet loads with the page, long before the panel draws: not timed.
    let _ = document.body().unwrap().offset_height();
    let sidebar = |r: &web_sys::Element| {
        r.set_attribute("style", "width: 320px; height: 800px; overflow: auto")
            .unwrap();
    };

    // Full render: 10,000 jobs reach the empty panel (it draws the first page of rows and
    // counts the rest), in a live document, then with the layout that follows. New jobs
    // reach the panel as one flush (the scheduler emits no `RowChanged` for them), as
    // after a reload's `list`. The first run is cold (the browser has not optimised the
    // wasm yet); then the median of 5.
    let empty = Scheduler::new();
    let mut created = Vec::new();
    let mut built = Vec::new();
    let mut laid_out = Vec::new();
    let mut panel = None;
    let mut root = None;
    for _ in 0..6 {
        drop(panel.take());
        if let Some(r) = root.take() {
            web_sys::Element::remove(&r);
        }
        let r = document.create_element("div").unwrap();
        sidebar(&r);
        document.body().unwrap().append_child(&r).unwrap();
        // The panel exists, empty and laid out, from JupyterLab's start-up on: its
        // creation is timed on a line of its own, not as part of the full render.
        let t0 = now();
        let mut p = Panel::new(&r, Rc::new(|_| {})).unwrap();
        p.flush(&empty).unwrap();
        let _ = r
            .dyn_ref::<web_sys::HtmlElement>()
            .map(|e| e.offset_height());
        created.push(now() - t0);
        let t0 = now();
        p.flush(&s).unwrap();
        built.push(now() - t0);
        let _ = r
            .dyn_ref::<web_sys::HtmlElement>()
            .map(|e| e.offset_height());
        laid_out.push(now() - t0);
        assert_eq!(p.jobs(), JOBS);
        assert_eq!(p.len(), PAGE);
        panel = Some(p);
        root = Some(r);
    }
    let (Some(mut panel), Some(root)) = (panel, root) else {
        unreachable!()
    };
    report(
        "the empty panel created and laid out (at start-up, not a budget), cold",
        created[0],
        30.0,
    );
    report(
        &format!("full render, 10,000 jobs ({PAGE} rows drawn), cold"),
        built[0],
        30.0,
    );
    report(
        &format!("full render, 10,000 jobs ({PAGE} rows drawn), cold, with layout"),
        laid_out[0],
        30.0,
    );
    report(
        &format!("full render, 10,000 jobs ({PAGE} rows drawn), median of 5"),
        median(built[1..].to_vec()),
        30.0,
    );
    report(
        &format!("full render, 10,000 jobs ({PAGE} rows drawn), median of 5, with layout"),
        median(laid_out[1..].to_vec()),
        30.0,
    );

    // For scale: drawing every one of the 10,000 rows ("Show more" until none is left).
    let root_all = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root_all).unwrap();
    let t0 = now();
    let mut all = Panel::new(&root_all, Rc::new(|_| {})).unwrap();
    all.flush(&s).unwrap();
    while all.len() < JOBS {
        all.show_more();
        all.flush(&s).unwrap();
    }
    report(
        "all 10,000 rows drawn (not a budget; for scale)",
        now() - t0,
        30.0,
    );
    drop(all);
    root_all.remove();

    // The same machine's browser, no wasm: 10,000 bare <li> from JavaScript.
    let baseline = js_sys::Function::new_no_args(
        "const ul = document.createElement('ul'); document.body.appendChild(ul); \
         const t = performance.now(); \
         for (let i = 0; i < 10000; i++) { const li = document.createElement('li'); \
           li.textContent = 'job ' + i; ul.appendChild(li); } \
         const ms = performance.now() - t; ul.remove(); return ms;",
    );
    let ms = baseline
        .call0(&JsValue::NULL)
        .unwrap()
        .as_f64()
        .unwrap_or(f64::NAN);
    report(
        "machine baseline: 10,000 bare <li> from plain JS (not a budget)",
        ms,
        30.0,
    );

    // One state change: the scheduler's effects applied to the panel.
    let mut times = Vec::new();
    // Drawn rows (the first page), as a person would see them change.
    for i in (1..PAGE).step_by(4).take(50) {
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
                panel.upsert(s.job(&job_id).unwrap(), &s, 2000.0).unwrap();
            }
        }
        panel.flush(&s).unwrap();
        times.push(now() - t);
    }
    report(
        "one state change, scheduler + panel (median of 50)",
        median(times),
        1.0,
    );

    // The elapsed-time tick with 100 running rows drawn: every row's time changes.
    let mut running = Scheduler::new();
    running.receive(K, hello(), 0.0);
    for id in ids.iter().take(100) {
        let submit = Submit {
            job_id: id,
            kernel_id: K,
            notebook: "nb.ipynb",
            cell_id: "c",
            code: "train()",
            after: None,
            target: Target::Thread,
        };
        running.submit(submit, 0.0).unwrap();
        running.receive(K, started(id), 0.0);
    }
    let root_tick = document.create_element("div").unwrap();
    sidebar(&root_tick);
    document.body().unwrap().append_child(&root_tick).unwrap();
    let mut ticking = Panel::new(&root_tick, Rc::new(|_| {})).unwrap();
    for job in running.jobs() {
        ticking.upsert(job, &running, 0.0).unwrap();
    }
    ticking.flush(&running).unwrap();
    assert!(ticking.is_ticking());
    let mut times = Vec::new();
    for second in 1..=50 {
        let t = now();
        ticking.tick(f64::from(second) * 1000.0 + 1.0);
        times.push(now() - t);
    }
    report(
        "one tick, 100 running rows (median of 50)",
        median(times),
        1.0,
    );
    drop(ticking);
    root_tick.remove();

    // The same through the JS surface: decode, scheduler, panel, effects to a JS callback.
    drop(panel);
    let root2: web_sys::HtmlElement = document.create_element("div").unwrap().dyn_into().unwrap();
    document.body().unwrap().append_child(&root2).unwrap();
    let noop = Closure::<dyn FnMut(JsValue)>::new(|_| {});
    let core = Core::new(
        root2.clone(),
        noop.as_ref().unchecked_ref::<js_sys::Function>().clone(),
    )
    .unwrap();
    // Each change drawn at once: the figure is what one drawn change costs (a burst of
    // them would otherwise wait for a paced draw).
    core.set_panel_pace(0.0);
    let parse = |text: &str| js_sys::JSON::parse(text).unwrap();
    core.receive(K, parse(r#"{"type":"hello","protocol":2,"runtime":"0","python":"3","ipykernel":"7","implementation":"ipython"}"#));
    for id in &ids {
        core.submit(id, K, "nb.ipynb", "cell", "x = 1", None, None)
            .unwrap();
    }
    let mut times = Vec::new();
    for i in (0..PAGE).step_by(4).take(50) {
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
