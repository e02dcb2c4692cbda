//! Small DOM helpers and the decoding of clicks into [`Action`]s.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, Event};

use super::Action;
use crate::error::{Error, Result};

/// A DOM exception as the crate's error.
pub fn dom_err(e: JsValue) -> Error {
    Error::Dom(
        e.as_string()
            .or_else(|| {
                e.dyn_ref::<js_sys::Error>()
                    .map(|e| String::from(e.message()))
            })
            .unwrap_or_else(|| "unknown".into()),
    )
}

/// A new element with a class.
pub fn el(document: &Document, tag: &str, class: &str) -> Result<Element> {
    let e = document.create_element(tag).map_err(dom_err)?;
    e.set_class_name(class);
    Ok(e)
}

/// A `<button type="button">` that reports `action` when clicked.
pub fn button(document: &Document, class: &str, action: &str, label: &str) -> Result<Element> {
    let b = el(document, "button", class)?;
    b.set_attribute("type", "button").map_err(dom_err)?;
    b.set_attribute("data-action", action).map_err(dom_err)?;
    b.set_text_content(Some(label));
    Ok(b)
}

/// The action a click inside `boundary` asks for, if any.
pub fn action_of(boundary: &Element, ev: &Event) -> Option<Action> {
    let target: Element = ev.target()?.dyn_into().ok()?;
    let button = target.closest("[data-action]").ok()??;
    if !boundary.contains(Some(&button)) || button.has_attribute("disabled") {
        return None;
    }
    let job_id = || {
        button
            .closest("[data-job-id]")
            .ok()
            .flatten()
            .and_then(|row| row.get_attribute("data-job-id"))
    };
    match button.get_attribute("data-action")?.as_str() {
        "kill" => job_id().map(Action::Kill),
        "goto" => job_id().map(Action::Goto),
        "save-output" => job_id().map(Action::SaveOutput),
        "kill-all" => Some(Action::KillAll),
        "clear-finished" => Some(Action::ClearFinished),
        "show-more" => Some(Action::ShowMore),
        _ => None,
    }
}
