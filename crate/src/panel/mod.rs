//! The jobs sidebar, drawn with web-sys into a root element the extension gives us.
//!
//! Rows are keyed by job id and grouped by notebook; an update touches only its own row.
//! Kernel and cell text only ever becomes text nodes (`textContent`), never markup. One
//! click listener on the panel serves every button (event delegation), and one interval
//! ticks elapsed times while something runs; it is dropped (and so cancelled) when
//! nothing does.

mod format;
mod row;
mod traceback;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use gloo_timers::callback::Interval;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, Event};

pub use format::{elapsed as format_elapsed, summary as format_summary};
use row::Row;

use crate::error::{Error, Result};
use crate::protocol::JobState;
use crate::scheduler::Job;

/// How often running rows' elapsed times are redrawn (ms).
pub const TICK_MS: u32 = 1000;

/// What the person did in the panel (or the timer asks for).
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// The kill button of a job.
    Kill(String),
    /// The title of a job: show its cell.
    Goto(String),
    /// "Kill all".
    KillAll,
    /// "Clear finished".
    ClearFinished,
    /// The elapsed-time interval fired.
    Tick,
}

/// The callback the panel reports [`Action`]s to.
pub type OnAction = Rc<dyn Fn(Action)>;

struct Group {
    section: Element,
    list: Element,
    rows: usize,
}

/// The panel. Dropping it removes its DOM and its listener and stops its timer.
pub struct Panel {
    document: Document,
    container: Element,
    summary: Element,
    kill_all: Element,
    clear_finished: Element,
    empty: Element,
    groups_el: Element,
    template: Element,
    rows: HashMap<String, Row>,
    groups: HashMap<String, Group>,
    ticking: HashSet<String>,
    counts: [usize; 7],
    on_action: OnAction,
    timer: Option<Interval>,
    listener: Closure<dyn FnMut(Event)>,
}

pub(crate) fn dom_err(e: JsValue) -> Error {
    Error::Dom(
        e.as_string()
            .or_else(|| {
                e.dyn_ref::<js_sys::Error>()
                    .map(|e| String::from(e.message()))
            })
            .unwrap_or_else(|| "unknown".into()),
    )
}

fn el(document: &Document, tag: &str, class: &str) -> Result<Element> {
    let e = document.create_element(tag).map_err(dom_err)?;
    e.set_class_name(class);
    Ok(e)
}

impl Panel {
    /// Draw an empty panel inside `root`.
    pub fn new(root: &Element, on_action: OnAction) -> Result<Panel> {
        let document = root
            .owner_document()
            .ok_or_else(|| Error::Dom("the root element has no document".into()))?;
        let container = el(&document, "div", "pc-panel")?;

        let header = el(&document, "div", "pc-header")?;
        header.set_attribute("role", "toolbar").map_err(dom_err)?;
        header
            .set_attribute("aria-label", "Background jobs")
            .map_err(dom_err)?;
        let summary = el(&document, "span", "pc-summary")?;
        summary
            .set_attribute("aria-live", "polite")
            .map_err(dom_err)?;
        let kill_all = button(&document, "pc-button pc-kill-all", "kill-all", "Kill all")?;
        let clear_finished = button(
            &document,
            "pc-button pc-clear-finished",
            "clear-finished",
            "Clear finished",
        )?;
        for child in [&summary, &kill_all, &clear_finished] {
            header.append_child(child).map_err(dom_err)?;
        }

        let empty = el(&document, "p", "pc-empty")?;
        empty.set_text_content(Some(
            "No background jobs yet. Right-click a code cell → Run in Background.",
        ));
        let groups_el = el(&document, "div", "pc-groups")?;
        for child in [&header, &empty, &groups_el] {
            container.append_child(child).map_err(dom_err)?;
        }

        let cb = on_action.clone();
        let boundary = container.clone();
        let listener = Closure::<dyn FnMut(Event)>::new(move |ev: Event| {
            if let Some(action) = action_of(&boundary, &ev) {
                cb(action);
            }
        });
        container
            .add_event_listener_with_callback("click", listener.as_ref().unchecked_ref())
            .map_err(dom_err)?;
        root.append_child(&container).map_err(dom_err)?;

        let template = row::template(&document)?;
        let mut panel = Panel {
            document,
            container,
            summary,
            kill_all,
            clear_finished,
            empty,
            groups_el,
            template,
            rows: HashMap::new(),
            groups: HashMap::new(),
            ticking: HashSet::new(),
            counts: [0; 7],
            on_action,
            timer: None,
            listener,
        };
        panel.flush()?;
        Ok(panel)
    }

    /// How many rows are shown.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row is shown.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Whether the elapsed-time interval is running.
    pub fn is_ticking(&self) -> bool {
        self.timer.is_some()
    }

    /// Draw or update `job`'s row. Call [`Panel::flush`] after a batch.
    pub fn upsert(&mut self, job: &Job, now: f64) -> Result<()> {
        let fresh = !self.rows.contains_key(&job.id);
        if fresh {
            let group = job.notebook.clone().unwrap_or_default();
            let row = Row::new(&self.template, job, group.clone())?;
            let list = self.group(&group)?;
            list.append_child(&row.li).map_err(dom_err)?;
            self.rows.insert(job.id.clone(), row);
        }
        let Some(row) = self.rows.get_mut(&job.id) else {
            return Ok(());
        };
        let before = row.state;
        row.update(&self.document, job, now, fresh)?;
        if fresh {
            self.counts[format::state_index(job.state)] += 1;
        } else if before != job.state {
            self.counts[format::state_index(before)] -= 1;
            self.counts[format::state_index(job.state)] += 1;
        }
        if matches!(job.state, JobState::Running | JobState::Cancelling) && job.started_at.is_some()
        {
            self.ticking.insert(job.id.clone());
        } else {
            self.ticking.remove(&job.id);
        }
        Ok(())
    }

    /// Remove `job_id`'s row (and its group when it was the last).
    pub fn remove(&mut self, job_id: &str) -> Result<()> {
        let Some(row) = self.rows.remove(job_id) else {
            return Ok(());
        };
        row.li.remove();
        self.ticking.remove(job_id);
        self.counts[format::state_index(row.state)] -= 1;
        if let Some(g) = self.groups.get_mut(&row.group) {
            g.rows -= 1;
            if g.rows == 0 {
                g.section.remove();
                self.groups.remove(&row.group);
            }
        }
        Ok(())
    }

    /// Redraw the elapsed time of every running row.
    pub fn tick(&mut self, now: f64) {
        for id in &self.ticking {
            if let Some(row) = self.rows.get_mut(id) {
                let ms = row.started_at.map(|s| now - s);
                row.set_elapsed(ms);
            }
        }
    }

    /// Update what depends on all rows: header, empty state, the timer.
    pub fn flush(&mut self) -> Result<()> {
        let live = self.counts[format::state_index(JobState::Queued)]
            + self.counts[format::state_index(JobState::Running)]
            + self.counts[format::state_index(JobState::Cancelling)];
        let finished = self.rows.len() - live;
        self.kill_all
            .toggle_attribute_with_force("disabled", live == 0)
            .map_err(dom_err)?;
        self.clear_finished
            .toggle_attribute_with_force("disabled", finished == 0)
            .map_err(dom_err)?;
        self.empty
            .toggle_attribute_with_force("hidden", !self.rows.is_empty())
            .map_err(dom_err)?;
        let text = format::summary(&self.counts);
        if self.summary.text_content().unwrap_or_default() != text {
            self.summary.set_text_content(Some(&text));
        }
        match (self.ticking.is_empty(), self.timer.is_some()) {
            (false, false) => {
                let cb = self.on_action.clone();
                self.timer = Some(Interval::new(TICK_MS, move || cb(Action::Tick)));
            }
            // Dropping the handle clears the interval.
            (true, true) => self.timer = None,
            _ => {}
        }
        Ok(())
    }

    /// The `<ul>` of a notebook's group, created on first use.
    fn group(&mut self, notebook: &str) -> Result<Element> {
        if let Some(g) = self.groups.get_mut(notebook) {
            g.rows += 1;
            return Ok(g.list.clone());
        }
        let section = el(&self.document, "section", "pc-group")?;
        section
            .set_attribute("data-notebook", notebook)
            .map_err(dom_err)?;
        let heading = el(&self.document, "h3", "pc-group-title")?;
        let label = if notebook.is_empty() {
            "Started in a kernel"
        } else {
            notebook
        };
        heading.set_text_content(Some(label));
        heading.set_attribute("title", label).map_err(dom_err)?;
        let list = el(&self.document, "ul", "pc-job-list")?;
        list.set_attribute("role", "list").map_err(dom_err)?;
        list.set_attribute("aria-label", &format!("Jobs of {label}"))
            .map_err(dom_err)?;
        section.append_child(&heading).map_err(dom_err)?;
        section.append_child(&list).map_err(dom_err)?;
        self.groups_el.append_child(&section).map_err(dom_err)?;
        self.groups.insert(
            notebook.to_owned(),
            Group {
                section,
                list: list.clone(),
                rows: 1,
            },
        );
        Ok(list)
    }
}

impl Drop for Panel {
    fn drop(&mut self) {
        // The listener's closure is freed with the panel: detach it first.
        let _ = self
            .container
            .remove_event_listener_with_callback("click", self.listener.as_ref().unchecked_ref());
        self.container.remove();
    }
}

fn button(document: &Document, class: &str, action: &str, label: &str) -> Result<Element> {
    let b = el(document, "button", class)?;
    b.set_attribute("type", "button").map_err(dom_err)?;
    b.set_attribute("data-action", action).map_err(dom_err)?;
    b.set_text_content(Some(label));
    Ok(b)
}

/// The action a click inside `boundary` asks for, if any.
fn action_of(boundary: &Element, ev: &Event) -> Option<Action> {
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
        "kill-all" => Some(Action::KillAll),
        "clear-finished" => Some(Action::ClearFinished),
        _ => None,
    }
}
