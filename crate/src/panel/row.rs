//! One job's row: created once from a template, then updated field by field.
//!
//! A row remembers what it shows, so an update writes only what changed and a state
//! change touches only its own row's nodes.

use web_sys::{Document, Element};

use super::{dom_err, format, traceback};
use crate::error::Result;
use crate::protocol::JobState;
use crate::scheduler::Job;

/// Build the row template: an `<li>` with the row's fixed parts, cloned for each job.
/// Built with DOM calls (no markup strings), once per panel.
pub fn template(document: &Document) -> Result<Element> {
    let li = document.create_element("li").map_err(dom_err)?;
    li.set_class_name("pc-job");
    // (tag, class, attributes, text)
    type Part<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);
    let parts: [Part; 5] = [
        ("span", "pc-job-state", &[("data-role", "state")], ""),
        (
            "button",
            "pc-job-title",
            &[
                ("type", "button"),
                ("data-action", "goto"),
                ("title", "Show the cell"),
            ],
            "",
        ),
        ("span", "pc-job-elapsed", &[("data-role", "elapsed")], ""),
        (
            "button",
            "pc-job-kill",
            &[
                ("type", "button"),
                ("data-action", "kill"),
                ("aria-label", "Kill job"),
                ("title", "Kill job"),
            ],
            "✕",
        ),
        ("div", "pc-job-last-line", &[("data-role", "last-line")], ""),
    ];
    for (tag, class, attrs, text) in parts {
        let el = document.create_element(tag).map_err(dom_err)?;
        el.set_class_name(class);
        for (k, v) in attrs {
            el.set_attribute(k, v).map_err(dom_err)?;
        }
        if !text.is_empty() {
            el.set_text_content(Some(text));
        }
        li.append_child(&el).map_err(dom_err)?;
    }
    Ok(li)
}

/// A rendered row and the values it shows.
pub struct Row {
    /// The `<li>`.
    pub li: Element,
    state_badge: Element,
    title: Element,
    elapsed: Element,
    kill: Element,
    last_line: Element,
    note: Option<Element>,
    traceback: Option<Element>,
    /// The state shown.
    pub state: JobState,
    /// The notebook group it sits in.
    pub group: String,
    /// Local clock (ms) the job started, for ticking.
    pub started_at: Option<f64>,
    shown_title: String,
    shown_elapsed: String,
    shown_last_line: String,
    shown_note: Option<String>,
}

impl Row {
    /// A new row for `job`, cloned from [`template`].
    pub fn new(template: &Element, job: &Job, group: String) -> Result<Row> {
        let li: Element = template
            .clone_node_with_deep(true)
            .map_err(dom_err)?
            .dyn_into_element()?;
        li.set_attribute("data-job-id", &job.id).map_err(dom_err)?;
        let state_badge = li.first_element_child().ok_or_else(missing)?;
        let title = state_badge.next_element_sibling().ok_or_else(missing)?;
        let elapsed = title.next_element_sibling().ok_or_else(missing)?;
        let kill = elapsed.next_element_sibling().ok_or_else(missing)?;
        let last_line = kill.next_element_sibling().ok_or_else(missing)?;
        if job.cell_id.is_none() {
            title.set_attribute("disabled", "").map_err(dom_err)?;
        }
        Ok(Row {
            li,
            state_badge,
            title,
            elapsed,
            kill,
            last_line,
            note: None,
            traceback: None,
            // A value no job has yet, so the first update writes the real one.
            state: JobState::Lost,
            group,
            started_at: None,
            shown_title: String::new(),
            shown_elapsed: String::new(),
            shown_last_line: String::new(),
            shown_note: None,
        })
    }

    /// Bring the row up to `job`, writing only what changed. `fresh` forces the state.
    pub fn update(&mut self, document: &Document, job: &Job, now: f64, fresh: bool) -> Result<()> {
        if fresh || self.state != job.state {
            self.state = job.state;
            let name = job.state.as_str();
            self.li
                .set_attribute("data-job-state", name)
                .map_err(dom_err)?;
            self.state_badge.set_text_content(Some(name));
            let finished = job.state.is_finished();
            self.kill
                .toggle_attribute_with_force("disabled", finished)
                .map_err(dom_err)?;
            self.kill
                .toggle_attribute_with_force("hidden", finished)
                .map_err(dom_err)?;
        }
        set_if_changed(&self.title, &mut self.shown_title, &job.title);
        self.started_at = job.started_at;
        self.set_elapsed(job.elapsed_ms(now));
        set_if_changed(
            &self.last_line,
            &mut self.shown_last_line,
            job.last_line.get(),
        );
        self.set_note(document, job.cancel_reason.as_deref())?;
        if let (Some(err), None) = (&job.error, &self.traceback) {
            let details = document.create_element("details").map_err(dom_err)?;
            details.set_class_name("pc-job-error");
            let summary = document.create_element("summary").map_err(dom_err)?;
            summary.set_class_name("pc-job-error-summary");
            summary.set_text_content(Some(&crate::ansi::strip(&format!(
                "{}: {}",
                err.ename, err.evalue
            ))));
            let pre = document.create_element("pre").map_err(dom_err)?;
            pre.set_class_name("pc-job-traceback");
            pre.set_attribute("data-role", "traceback")
                .map_err(dom_err)?;
            traceback::render(document, &pre, &err.traceback)?;
            details.append_child(&summary).map_err(dom_err)?;
            details.append_child(&pre).map_err(dom_err)?;
            self.li.append_child(&details).map_err(dom_err)?;
            self.traceback = Some(details);
        }
        Ok(())
    }

    /// Show the elapsed time (`None`: not started).
    pub fn set_elapsed(&mut self, ms: Option<f64>) {
        let text = ms.map(format::elapsed).unwrap_or_default();
        set_if_changed(&self.elapsed, &mut self.shown_elapsed, &text);
    }

    fn set_note(&mut self, document: &Document, note: Option<&str>) -> Result<()> {
        if self.shown_note.as_deref() == note {
            return Ok(());
        }
        self.shown_note = note.map(str::to_owned);
        match (note, &self.note) {
            (Some(text), Some(el)) => el.set_text_content(Some(text)),
            (Some(text), None) => {
                let el = document.create_element("div").map_err(dom_err)?;
                el.set_class_name("pc-job-note");
                el.set_attribute("data-role", "note").map_err(dom_err)?;
                el.set_text_content(Some(text));
                self.li
                    .insert_before(&el, self.last_line.next_sibling().as_ref())
                    .map_err(dom_err)?;
                self.note = Some(el);
            }
            (None, Some(el)) => {
                el.remove();
                self.note = None;
            }
            (None, None) => {}
        }
        Ok(())
    }
}

fn set_if_changed(el: &Element, shown: &mut String, text: &str) {
    if shown != text {
        text.clone_into(shown);
        el.set_text_content(Some(text));
    }
}

fn missing() -> crate::error::Error {
    crate::error::Error::Dom("the row template lost an element".into())
}

trait IntoElement {
    fn dyn_into_element(self) -> Result<Element>;
}

impl IntoElement for web_sys::Node {
    fn dyn_into_element(self) -> Result<Element> {
        use wasm_bindgen::JsCast;
        self.dyn_into::<Element>()
            .map_err(|_| crate::error::Error::Dom("the row template is not an element".into()))
    }
}
