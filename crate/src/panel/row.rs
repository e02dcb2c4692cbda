//! One job's row: created once from a template, then updated field by field.
//!
//! A row remembers what it shows, so an update writes only what changed and a state
//! change touches only its own row's nodes.

use wasm_bindgen::prelude::wasm_bindgen;
use web_sys::{Document, Element};

use super::lines::{Lines, CELL_NOTE, CONFLICT, LOG_NOTE, NOTE, THREADS, WAITS_FOR};
use super::{dom_err, format, traceback};
use crate::error::Result;
use crate::protocol::JobState;
use crate::scheduler::Job;
use crate::text::{
    Text, T_ASSIGNED, T_CONFLICT, T_DASHBOARD, T_GOTO, T_KILL, T_SAVE, T_STATE, T_THREADS_RUNNING,
};

/// The longest list of assigned names a row shows (characters); the rest is counted.
pub const MAX_ASSIGNED: usize = 60;

/// Build the row template: an `<li>` with the row's fixed parts, cloned for each job.
/// Built with DOM calls (no markup strings), once per panel and language.
pub fn template(document: &Document, text: &Text) -> Result<Element> {
    let (goto, kill, save) = (text.get(T_GOTO), text.get(T_KILL), text.get(T_SAVE));
    let li = document.create_element("li").map_err(dom_err)?;
    li.set_class_name("pc-job");
    // (tag, class, attributes, text)
    type Part<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);
    let parts: [Part; 7] = [
        ("span", "pc-job-state", &[("data-role", "state")], ""),
        (
            "button",
            "pc-job-title",
            &[("type", "button"), ("data-action", "goto"), ("title", goto)],
            "",
        ),
        ("span", "pc-job-elapsed", &[("data-role", "elapsed")], ""),
        (
            "button",
            "pc-job-save",
            &[
                ("type", "button"),
                ("data-action", "save-output"),
                ("aria-label", save),
                ("title", save),
            ],
            "⤓",
        ),
        (
            "button",
            "pc-job-kill",
            &[
                ("type", "button"),
                ("data-action", "kill"),
                ("aria-label", kill),
                ("title", kill),
            ],
            "✕",
        ),
        ("div", "pc-job-where", &[], ""),
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
        if class == "pc-job-where" {
            // Where the job runs; the line also holds the dashboard link when there is one.
            let place = document.create_element("span").map_err(dom_err)?;
            place.set_class_name("pc-job-where-text");
            place.set_attribute("data-role", "where").map_err(dom_err)?;
            el.append_child(&place).map_err(dom_err)?;
        }
        li.append_child(&el).map_err(dom_err)?;
    }
    Ok(li)
}

// Drawing a new row is the panel's hot path (a page of 200 at once): one call into this
// helper instead of ~16 web-sys calls (each a JS boundary crossing with string copies).
// It sets text with `textContent` only, like the rest of the panel.
#[wasm_bindgen(inline_js = r#"
export function pc_draw_row(template, list, id, state, badge, title, elapsed, place, lastLine, hasCell) {
  const li = template.cloneNode(true);
  li.setAttribute('data-job-id', id);
  li.setAttribute('data-job-state', state);
  const c = li.children;
  c[0].textContent = badge;
  c[1].textContent = title;
  if (!hasCell) c[1].setAttribute('disabled', '');
  c[2].textContent = elapsed;
  if (state === 'done' || state === 'error' || state === 'killed' || state === 'lost') {
    c[4].setAttribute('disabled', '');
    c[4].setAttribute('hidden', '');
  }
  c[5].firstChild.textContent = place;
  c[6].textContent = lastLine;
  list.appendChild(li);
  return li;
}
"#)]
extern "C" {
    #[allow(clippy::too_many_arguments)]
    fn pc_draw_row(
        template: &Element,
        list: &Element,
        id: &str,
        state: &str,
        badge: &str,
        title: &str,
        elapsed: &str,
        place: &str,
        last_line: &str,
        has_cell: bool,
    ) -> Element;
}

/// The template's parts of a drawn row, looked up on its first update.
struct Parts {
    state_badge: Element,
    title: Element,
    elapsed: Element,
    kill: Element,
    /// The line saying where the job runs (it holds `place` and the dashboard link).
    place_line: Element,
    place: Element,
    last_line: Element,
}

/// A drawn row and the values it shows.
pub struct Row {
    /// The `<li>`.
    pub li: Element,
    parts: Option<Parts>,
    lines: Lines,
    assigned: Option<Element>,
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
    shown_place: String,
    /// Whether the title button may show the job's cell.
    has_cell: bool,
    /// The dashboard link and its `href`, when there is one.
    dashboard: Option<(Element, String)>,
}

/// What a finished row says about the names `job` assigned: the shown text (shortened)
/// and the full list, or `None` when there is nothing to say.
pub fn assigned_text(job: &Job, text: &Text) -> Option<(String, String)> {
    if !job.state.is_finished() || job.assigned.is_empty() {
        return None;
    }
    let full = job.assigned.join(", ");
    let mut shown = String::new();
    let mut taken = 0;
    for name in &job.assigned {
        let sep = if taken > 0 { ", " } else { "" };
        if taken > 0 && shown.chars().count() + sep.len() + name.chars().count() > MAX_ASSIGNED {
            break;
        }
        shown.push_str(sep);
        shown.push_str(name);
        taken += 1;
    }
    let left = job.assigned.len() - taken;
    if left > 0 {
        shown.push_str(&format!(", … +{left}"));
    }
    Some((text.fill(T_ASSIGNED, "{names}", &shown), full))
}

impl Row {
    /// Draw a new row for `job` at the end of `list`, cloned from [`template`].
    pub fn new(
        template: &Element,
        list: &Element,
        job: &Job,
        group: String,
        now: f64,
        text: &Text,
    ) -> Result<Row> {
        let elapsed = job
            .elapsed_ms(now)
            .map(|ms| format::elapsed(ms, text))
            .unwrap_or_default();
        let title = job.title.words(text);
        let last_line = job.last_line.get();
        let place = format::place(job.place.target, job.place.worker.as_deref(), text);
        let li = pc_draw_row(
            template,
            list,
            &job.id,
            job.state.as_str(),
            text.get(T_STATE + job.state as usize),
            &title,
            &elapsed,
            &place,
            last_line,
            job.from.cell_id.is_some(),
        );
        Ok(Row {
            li,
            parts: None,
            lines: Lines::default(),
            assigned: None,
            traceback: None,
            state: job.state,
            group,
            started_at: job.clocks.started_at,
            shown_title: title.into_owned(),
            shown_elapsed: elapsed,
            shown_last_line: last_line.to_owned(),
            shown_place: place,
            has_cell: job.from.cell_id.is_some(),
            dashboard: None,
        })
    }

    fn parts(&mut self) -> Result<&Parts> {
        if self.parts.is_none() {
            let state_badge = self.li.first_element_child().ok_or_else(missing)?;
            let title = state_badge.next_element_sibling().ok_or_else(missing)?;
            let elapsed = title.next_element_sibling().ok_or_else(missing)?;
            let save = elapsed.next_element_sibling().ok_or_else(missing)?;
            let kill = save.next_element_sibling().ok_or_else(missing)?;
            let place_line = kill.next_element_sibling().ok_or_else(missing)?;
            let place = place_line.first_element_child().ok_or_else(missing)?;
            let last_line = place_line.next_element_sibling().ok_or_else(missing)?;
            self.parts = Some(Parts {
                state_badge,
                title,
                elapsed,
                kill,
                place_line,
                place,
                last_line,
            });
        }
        self.parts.as_ref().ok_or_else(missing)
    }

    /// Bring the row up to `job`, writing only what changed; `waits_for` says what a
    /// queued job waits for, in words.
    pub fn update(
        &mut self,
        document: &Document,
        job: &Job,
        waits_for: Option<&str>,
        now: f64,
        text: &Text,
    ) -> Result<()> {
        if self.state != job.state {
            self.state = job.state;
            let name = job.state.as_str();
            self.li
                .set_attribute("data-job-state", name)
                .map_err(dom_err)?;
            let finished = job.state.is_finished();
            let p = self.parts()?;
            p.state_badge
                .set_text_content(Some(text.get(T_STATE + job.state as usize)));
            p.kill
                .toggle_attribute_with_force("disabled", finished)
                .map_err(dom_err)?;
            p.kill
                .toggle_attribute_with_force("hidden", finished)
                .map_err(dom_err)?;
        }
        let has_cell = job.from.cell_id.is_some();
        if self.has_cell != has_cell {
            self.has_cell = has_cell;
            self.parts()?
                .title
                .toggle_attribute_with_force("disabled", !has_cell)
                .map_err(dom_err)?;
        }
        let title = job.title.words(text);
        if self.shown_title != title {
            self.parts()?.title.set_text_content(Some(&title));
            self.shown_title = title.into_owned();
        }
        self.started_at = job.clocks.started_at;
        self.set_elapsed(job.elapsed_ms(now), text)?;
        let line = job.last_line.get();
        if self.shown_last_line != line {
            self.parts()?.last_line.set_text_content(Some(line));
            line.clone_into(&mut self.shown_last_line);
        }
        let place = format::place(job.place.target, job.place.worker.as_deref(), text);
        if self.shown_place != place {
            self.parts()?.place.set_text_content(Some(&place));
            self.shown_place = place;
        }
        self.set_dashboard(document, job.place.dashboard.as_deref(), text)?;
        let anchor = self.parts()?.last_line.clone();
        let threads = (job.threads > 0)
            .then(|| text.fill(T_THREADS_RUNNING, "{n}", &job.threads.to_string()));
        let conflict = (!job.conflicts.is_empty())
            .then(|| text.fill(T_CONFLICT, "{names}", &job.conflicts.join(", ")));
        for (i, line) in [
            (WAITS_FOR, waits_for),
            (NOTE, job.cancel_reason.as_deref()),
            (THREADS, threads.as_deref()),
            (CONFLICT, conflict.as_deref()),
            (CELL_NOTE, job.cell_note.as_deref()),
            (LOG_NOTE, job.log_trimmed.as_deref()),
        ] {
            self.lines.set(document, &self.li, &anchor, i, line)?;
        }
        if let (Some((shown, full)), None) = (assigned_text(job, text), &self.assigned) {
            let el = document.create_element("div").map_err(dom_err)?;
            el.set_class_name("pc-job-assigned");
            el.set_attribute("data-role", "assigned").map_err(dom_err)?;
            el.set_attribute("title", &full).map_err(dom_err)?;
            el.set_text_content(Some(&shown));
            self.li.append_child(&el).map_err(dom_err)?;
            self.assigned = Some(el);
        }
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
    pub fn set_elapsed(&mut self, ms: Option<f64>, text: &Text) -> Result<()> {
        let shown = ms.map(|ms| format::elapsed(ms, text)).unwrap_or_default();
        if self.shown_elapsed != shown {
            self.parts()?.elapsed.set_text_content(Some(&shown));
            self.shown_elapsed = shown;
        }
        Ok(())
    }

    /// Show a link to the cluster's dashboard when `url` is a web URL; no link otherwise.
    fn set_dashboard(&mut self, document: &Document, url: Option<&str>, text: &Text) -> Result<()> {
        let href = url.and_then(format::web_link);
        if self.dashboard.as_ref().map(|(_, h)| h.as_str()) == href {
            return Ok(());
        }
        if let Some((link, _)) = self.dashboard.take() {
            link.remove();
        }
        let Some(href) = href else {
            return Ok(());
        };
        let link = document.create_element("a").map_err(dom_err)?;
        link.set_class_name("pc-job-dashboard");
        for (k, v) in [
            ("data-role", "dashboard"),
            ("href", href),
            ("target", "_blank"),
            ("rel", "noopener noreferrer"),
            ("title", href),
        ] {
            link.set_attribute(k, v).map_err(dom_err)?;
        }
        link.set_text_content(Some(text.get(T_DASHBOARD)));
        self.parts()?
            .place_line
            .append_child(&link)
            .map_err(dom_err)?;
        self.dashboard = Some((link, href.to_owned()));
        Ok(())
    }
}

fn missing() -> crate::error::Error {
    crate::error::Error::Dom("the row template lost an element".into())
}
