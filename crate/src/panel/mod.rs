//! The jobs sidebar, drawn with web-sys into a root element the extension gives us.
//!
//! Rows are keyed by job id and grouped by notebook; an update touches only its own row.
//! At most [`PAGE`] rows are drawn at first (a "Show more" button draws the next page), so
//! a panel with 10,000 jobs still draws in milliseconds; the header counts every job. The
//! drawn rows are always the oldest jobs (a prefix of the scheduler's order: jobs are
//! added at its end and removed anywhere), so the panel keeps no list of the others: it
//! reads them from the [`Scheduler`] when a page is drawn.
//! Kernel and cell text only ever becomes text nodes (`textContent`), never markup. One
//! click listener on the panel serves every button (event delegation), and one interval
//! ticks elapsed times while something runs; it is dropped (and so cancelled) when
//! nothing does.

mod dom;
mod format;
mod group;
mod lines;
mod pace;
mod row;
mod traceback;

use std::rc::Rc;

use gloo_timers::callback::Interval;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, Event};

pub use format::{
    elapsed as format_elapsed, place as format_place, summary as format_summary,
    waits_for as format_waits_for, web_link,
};
pub use pace::{Draw, Pace, PACE_MS};

use crate::text::{Text, T_CLEAR_FINISHED, T_EMPTY, T_KILL_ALL, T_SHOW_MORE, T_TOOLBAR};
pub(crate) use dom::dom_err;
use dom::{action_of, button, el};
use group::Group;
use row::Row;

use crate::error::{Error, Result};
use crate::ids::{IdMap, IdSet};
use crate::protocol::JobState;
use crate::scheduler::{Job, Scheduler};

/// How often running rows' elapsed times are redrawn (ms).
pub const TICK_MS: u32 = 1000;

/// How many more rows "Show more" draws (and how many are drawn at first).
pub const PAGE: usize = 100;

/// What the person did in the panel (or the timer asks for).
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// The kill button of a job.
    Kill(String),
    /// The title of a job: show its cell.
    Goto(String),
    /// "Save output" of a job.
    SaveOutput(String),
    /// "Kill all".
    KillAll,
    /// "Clear finished".
    ClearFinished,
    /// The elapsed-time interval fired.
    Tick,
    /// "Show more": draw the next page of rows.
    ShowMore,
}

/// The callback the panel reports [`Action`]s to.
pub type OnAction = Rc<dyn Fn(Action)>;

/// The panel. Dropping it removes its DOM and its listener and stops its timer.
pub struct Panel {
    document: Document,
    container: Element,
    header: Element,
    summary: Element,
    kill_all: Element,
    clear_finished: Element,
    empty: Element,
    groups_el: Element,
    show_more: Element,
    template: Element,
    text: Text,
    rows: IdMap<Row>,
    groups: IdMap<Group>,
    ticking: IdSet,
    /// How many rows may be drawn.
    limit: usize,
    /// The largest `serial` of a job drawn since the rows were last cleared: a newer job
    /// has no row (the drawn rows are the oldest jobs), no lookup needed.
    newest_drawn: u64,
    /// How many jobs there are, drawn or not (as of the last flush).
    jobs: usize,
    on_action: OnAction,
    timer: Option<Interval>,
    listener: Closure<dyn FnMut(Event)>,
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
        let summary = el(&document, "span", "pc-summary")?;
        summary
            .set_attribute("aria-live", "polite")
            .map_err(dom_err)?;
        let kill_all = button(&document, "pc-button pc-kill-all", "kill-all", "")?;
        let clear_finished = button(
            &document,
            "pc-button pc-clear-finished",
            "clear-finished",
            "",
        )?;
        for child in [&summary, &kill_all, &clear_finished] {
            header.append_child(child).map_err(dom_err)?;
        }

        let empty = el(&document, "p", "pc-empty")?;
        let groups_el = el(&document, "div", "pc-groups")?;
        let show_more = button(&document, "pc-button pc-show-more", "show-more", "")?;
        show_more.set_attribute("hidden", "").map_err(dom_err)?;
        for child in [&header, &empty, &groups_el, &show_more] {
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

        let text = Text::default();
        let template = row::template(&document, &text)?;
        let mut panel = Panel {
            document,
            container,
            header,
            summary,
            kill_all,
            clear_finished,
            empty,
            groups_el,
            show_more,
            template,
            text,
            rows: IdMap::default(),
            groups: IdMap::default(),
            ticking: IdSet::default(),
            limit: PAGE,
            newest_drawn: 0,
            jobs: 0,
            on_action,
            timer: None,
            listener,
        };
        panel.label()?;
        panel.flush(&Scheduler::default())?;
        Ok(panel)
    }

    /// Write the fixed words of the panel (header, empty state) in the current language.
    fn label(&self) -> Result<()> {
        let t = &self.text;
        self.header
            .set_attribute("aria-label", t.get(T_TOOLBAR))
            .map_err(dom_err)?;
        self.kill_all.set_text_content(Some(t.get(T_KILL_ALL)));
        self.clear_finished
            .set_text_content(Some(t.get(T_CLEAR_FINISHED)));
        self.empty.set_text_content(Some(t.get(T_EMPTY)));
        Ok(())
    }

    /// Speak another language: every word the panel shows comes from `text` from now on.
    /// The rows are drawn again (from `jobs`).
    pub fn set_text(&mut self, text: Text, jobs: &Scheduler) -> Result<()> {
        self.text = text;
        self.template = row::template(&self.document, &self.text)?;
        self.label()?;
        for (_, g) in self.groups.drain() {
            g.section.remove();
        }
        self.rows.clear();
        self.newest_drawn = 0;
        self.ticking.clear();
        self.summary.set_text_content(None);
        self.show_more.set_text_content(None);
        self.flush(jobs)
    }

    /// How many rows are drawn.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row is drawn.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// How many jobs the panel counts, drawn or not (as of the last flush).
    pub fn jobs(&self) -> usize {
        self.jobs
    }

    /// Whether the elapsed-time interval is running.
    pub fn is_ticking(&self) -> bool {
        self.timer.is_some()
    }

    /// Update `job`'s row if it is drawn (`jobs` says what a queued job waits for). New
    /// rows are drawn by [`Panel::flush`] (call it after a batch), in the scheduler's
    /// order, so the drawn rows stay the oldest jobs.
    pub fn upsert(&mut self, job: &Job, jobs: &Scheduler, now: f64) -> Result<()> {
        // A job newer than every drawn row has none: the serial tells so without hashing
        // its id (10,000 undrawn jobs changing at once, as when a kernel is lost).
        if job.serial <= self.newest_drawn && self.rows.contains_key(&job.id) {
            self.draw(job, jobs, now)
        } else {
            Ok(())
        }
    }

    /// Create or update the row of `job`.
    fn draw(&mut self, job: &Job, jobs: &Scheduler, now: f64) -> Result<()> {
        let group = job.from.notebook.clone().unwrap_or_default();
        match self
            .rows
            .get(&job.id)
            .map(|r| (r.group != group).then(|| r.li.clone()))
        {
            None => {
                let list = self.group(&group)?;
                let row = Row::new(&self.template, &list, job, group, now, &self.text)?;
                self.rows.insert(job.id.clone(), row);
                self.newest_drawn = self.newest_drawn.max(job.serial);
            }
            // Its notebook was renamed: the row goes to that name's group.
            Some(Some(li)) => {
                self.group(&group)?.append_child(&li).map_err(dom_err)?;
                if let Some(row) = self.rows.get_mut(&job.id) {
                    let left = std::mem::replace(&mut row.group, group);
                    self.leave(&left);
                }
            }
            Some(None) => {}
        }
        let Some(row) = self.rows.get_mut(&job.id) else {
            return Ok(());
        };
        let waits_for = jobs.waiting(job).map(|w| format::waits_for(w, &self.text));
        row.update(&self.document, job, waits_for.as_deref(), now, &self.text)?;
        if matches!(job.state, JobState::Running | JobState::Cancelling)
            && job.clocks.started_at.is_some()
        {
            self.ticking.insert(job.id.clone());
        } else {
            self.ticking.remove(&job.id);
        }
        Ok(())
    }

    /// Draw another page of rows at the next [`Panel::flush`].
    pub fn show_more(&mut self) {
        self.limit = self.rows.len() + PAGE;
    }

    /// Remove `job_id`'s row (and its group when it was the last).
    pub fn remove(&mut self, job_id: &str) -> Result<()> {
        let Some(row) = self.rows.remove(job_id) else {
            return Ok(());
        };
        row.li.remove();
        self.ticking.remove(job_id);
        self.leave(&row.group);
        Ok(())
    }

    /// Draw the rows of the jobs in `changed` (emptying it), then [`Panel::flush`]. A row
    /// that fails does not stop the others; the first error is returned.
    pub fn draw_changed(&mut self, changed: &mut IdSet, jobs: &Scheduler, now: f64) -> Result<()> {
        let mut first = Ok(());
        for job_id in changed.drain() {
            let drawn = match jobs.job(&job_id) {
                Some(job) => self.upsert(job, jobs, now),
                None => self.remove(&job_id),
            };
            first = first.and(drawn);
        }
        let flushed = self.flush(jobs);
        first.and(flushed)
    }

    /// Redraw the elapsed time of every running row.
    pub fn tick(&mut self, now: f64) {
        for id in &self.ticking {
            if let Some(row) = self.rows.get_mut(id) {
                let ms = row.started_at.map(|s| now - s);
                // A row whose parts cannot be found keeps its old time; nothing to report.
                let _ = row.set_elapsed(ms, &self.text);
            }
        }
    }

    /// Update what depends on all jobs: undrawn rows that now fit (the oldest undrawn
    /// jobs of `jobs`), the header, the empty state, "Show more", the timer.
    pub fn flush(&mut self, jobs: &Scheduler) -> Result<()> {
        if self.rows.len() < self.limit && self.rows.len() < jobs.len() {
            let now = js_sys::Date::now();
            let missing = self.limit - self.rows.len();
            // The drawn rows are the oldest jobs: the undrawn start after them.
            let undrawn: Vec<&Job> = jobs
                .jobs_from(self.rows.len())
                .filter(|j| !self.rows.contains_key(&j.id))
                .take(missing)
                .collect();
            for job in undrawn {
                self.draw(job, jobs, now)?;
            }
        }
        let counts = jobs.counts();
        self.jobs = jobs.len();
        let live = counts[JobState::Queued as usize]
            + counts[JobState::Running as usize]
            + counts[JobState::Cancelling as usize];
        let finished = self.jobs - live;
        self.kill_all
            .toggle_attribute_with_force("disabled", live == 0)
            .map_err(dom_err)?;
        self.clear_finished
            .toggle_attribute_with_force("disabled", finished == 0)
            .map_err(dom_err)?;
        self.empty
            .toggle_attribute_with_force("hidden", self.jobs > 0)
            .map_err(dom_err)?;
        let hidden = self.jobs.saturating_sub(self.rows.len());
        self.show_more
            .toggle_attribute_with_force("hidden", hidden == 0)
            .map_err(dom_err)?;
        if hidden > 0 {
            let text = self
                .text
                .fill(T_SHOW_MORE, "{n}", &PAGE.min(hidden).to_string())
                .replace("{total}", &hidden.to_string());
            if self.show_more.text_content().unwrap_or_default() != text {
                self.show_more.set_text_content(Some(&text));
            }
        }
        let text = format::summary(&counts, &self.text);
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
