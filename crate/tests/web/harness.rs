//! The browser tests' harness: a `Core` in a real document, its effects collected as JSON,
//! and the kernel messages they send it.

use std::cell::RefCell;
use std::rc::Rc;

use parallel_cell_core::Core;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

pub const K: &str = "kernel-1";

pub struct Harness {
    pub root: HtmlElement,
    pub core: Core,
    effects: Rc<RefCell<Vec<Value>>>,
    _on_effect: Closure<dyn FnMut(JsValue)>,
}

impl Harness {
    /// The English strings the core asks to have translated.
    pub fn strings(&self) -> Vec<String> {
        self.core
            .strings()
            .iter()
            .filter_map(|s| s.as_string())
            .collect()
    }

    pub fn new() -> Harness {
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
        )
        .unwrap();
        // The tests read the panel right after each event: it draws at every change
        // (panel.rs tests the pace of bursts itself).
        core.set_panel_pace(0.0);
        Harness {
            root,
            core,
            effects,
            _on_effect: on_effect,
        }
    }

    pub fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.effects.borrow_mut())
    }

    pub fn receive(&self, msg: Value) {
        let js = js_sys::JSON::parse(&msg.to_string()).unwrap();
        self.core.receive(K, js);
    }

    pub fn submit(&self, id: &str, code: &str) {
        self.core
            .submit(id, K, "nb.ipynb", &format!("cell-{id}"), code, None, None)
            .unwrap();
    }

    /// Submit job `id` to run after job `after` (a chain).
    pub fn submit_after(&self, id: &str, code: &str, after: &str) {
        self.core
            .submit(
                id,
                K,
                "nb.ipynb",
                &format!("cell-{id}"),
                code,
                Some(after.into()),
                None,
            )
            .unwrap();
    }

    pub fn row(&self, id: &str) -> Element {
        self.root
            .query_selector(&format!("[data-job-id=\"{id}\"]"))
            .unwrap()
            .unwrap_or_else(|| panic!("no row for {id}"))
    }

    pub fn part(&self, id: &str, selector: &str) -> Element {
        self.row(id)
            .query_selector(selector)
            .unwrap()
            .unwrap_or_else(|| panic!("row {id} has no {selector}"))
    }

    pub fn count(&self, selector: &str) -> u32 {
        self.root.query_selector_all(selector).unwrap().length()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.root.remove();
    }
}

pub fn hello() -> Value {
    json!({"type": "hello", "protocol": 2, "runtime": "0.1.0", "python": "3.11.7",
           "ipykernel": "7.4.0", "implementation": "ipython"})
}

pub fn started(id: &str) -> Value {
    json!({"type": "started", "job_id": id, "num": 1, "cell_id": format!("cell-{id}"),
           "notebook": "nb.ipynb", "started_at": 1.0, "origin": "frontend"})
}

pub fn finished_error(id: &str, traceback: &[&str]) -> Value {
    json!({"type": "finished", "job_id": id, "state": "error", "ended_at": 2.0,
           "error": {"ename": "ZeroDivisionError", "evalue": "division by zero", "traceback": traceback},
           "assigned": []})
}

pub fn kinds(effects: &[Value]) -> Vec<String> {
    effects
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// Wait `ms` on the page's clock.
pub async fn sleep(ms: f64) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}
