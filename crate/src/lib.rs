//! parallel-cell's WebAssembly core: the wire protocol, the job scheduler and the jobs
//! panel. This file is the only `#[wasm_bindgen]` surface and stays thin: it reads the
//! clock, hands events to the [`scheduler`], applies row effects to the [`panel`] and
//! passes every other effect to JavaScript.
#![deny(missing_docs)]

pub mod ansi;
pub mod error;
pub mod ids;
pub mod js;
pub mod panel;
pub mod protocol;
pub mod scheduler;
pub mod text;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;

use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::panel::{Action, Draw, Pace, Panel};
use crate::protocol::{KernelMsg, Target};
use crate::scheduler::{Effect, Scheduler, Submit};
use crate::text::{Text, SOURCES, T_NOT_UNDERSTOOD};

/// The core as JavaScript sees it: one per JupyterLab window.
#[wasm_bindgen]
pub struct Core {
    inner: Rc<RefCell<Inner>>,
}

struct Inner {
    scheduler: Scheduler,
    panel: Option<Panel>,
    on_effect: js_sys::Function,
    /// When the panel draws, and what.
    pace: Pace,
    /// The timer of a paced draw (kept after it fires: a callback cannot drop itself).
    draw_timer: Option<Timeout>,
    /// Lets the timer reach `Inner` without keeping it alive.
    this: Weak<RefCell<Inner>>,
}

#[wasm_bindgen]
impl Core {
    /// Draw the panel into `root`; `on_effect` is called once per effect. (The cap on
    /// jobs running at once is the kernel's: `configure`'s `cap`.)
    #[wasm_bindgen(constructor)]
    pub fn new(
        root: web_sys::HtmlElement,
        #[wasm_bindgen(unchecked_param_type = "(effect: any) => void")] on_effect: js_sys::Function,
    ) -> Result<Core, JsError> {
        install_panic_hook();
        let inner = Rc::new_cyclic(|this| {
            RefCell::new(Inner {
                scheduler: Scheduler::new(),
                panel: None,
                on_effect,
                pace: Pace::default(),
                draw_timer: None,
                this: this.clone(),
            })
        });
        // The panel's callbacks hold a weak reference: the panel lives inside `inner`.
        let weak = Rc::downgrade(&inner);
        let on_action: panel::OnAction = Rc::new(move |action| {
            if let Some(inner) = weak.upgrade() {
                on_panel_action(&inner, action);
            }
        });
        let panel = Panel::new(&root, on_action)?;
        inner.borrow_mut().panel = Some(panel);
        Ok(Core { inner })
    }

    /// Run a cell in the background: the `submit` (with `after` and the code's
    /// `source_hash`) goes to the kernel at once, or when its `hello` comes; the kernel
    /// queues it. With `after_job_id`, it runs only once that job ended `done` (if it ends
    /// otherwise, the kernel ends this one `error`, `DependencyFailed`). `target` is
    /// `"thread"` (also when missing) or `"dask"` (a Dask cluster). Throws an `Error` on
    /// invalid input, an unknown `after_job_id` or another `target`.
    // Positional for JavaScript; new parameters go at the end so older calls still work.
    #[allow(clippy::too_many_arguments)]
    pub fn submit(
        &self,
        job_id: &str,
        kernel_id: &str,
        notebook: &str,
        cell_id: &str,
        code: &str,
        after_job_id: Option<String>,
        target: Option<String>,
    ) -> Result<(), JsError> {
        let target = match target.as_deref() {
            None => Target::Thread,
            Some(name) => Target::from_name(name).ok_or_else(|| {
                Error::Invalid(format!(
                    "target must be \"thread\" or \"dask\", got \"{}\"",
                    protocol::truncate(name, 40)
                ))
            })?,
        };
        let s = Submit {
            job_id,
            kernel_id,
            notebook,
            cell_id,
            code,
            after: after_job_id.as_deref(),
            target,
        };
        dispatch(&self.inner, |sched, now| sched.submit(s, now))?;
        Ok(())
    }

    /// Hand over a message from kernel `kernel_id`'s comm, or a list of them (what the
    /// kernel sent in one go: handled in one pass, the panel drawn once). Never throws:
    /// what cannot be understood becomes a `problem` effect, one per bad message.
    pub fn receive(&self, kernel_id: &str, msg: JsValue) {
        let list = js_sys::Array::is_array(&msg).then(|| js_sys::Array::from(&msg));
        // An empty list is read as one message, and refused like any other non-message.
        let messages = if let Some(list) = list.filter(|l| l.length() > 0) {
            list.to_vec()
        } else {
            vec![msg]
        };
        // A kernel can `display` any JSON, however deep: the walk into JSON stops at
        // MAX_DEPTH (decoding recurses per level) and refuses what JSON cannot hold.
        let decoded: Vec<_> = messages
            .iter()
            .map(|m| {
                js::to_json(m).and_then(|v| {
                    let m = KernelMsg::read(v)?;
                    m.validate().map(|()| m)
                })
            })
            .collect();
        run(&self.inner, |sched, now| {
            let mut effects = Vec::new();
            for d in decoded {
                match d {
                    Ok(m) => effects.extend(sched.receive(kernel_id, m, now)),
                    Err(e) => effects.push(Effect::Problem {
                        message: sched
                            .text()
                            .fill(T_NOT_UNDERSTOOD, "{error}", &e.to_string()),
                    }),
                }
            }
            effects
        });
    }

    /// Kill a job (never sent: at once; queued in the kernel or running: `cancelling`
    /// until the kernel answers).
    pub fn kill(&self, job_id: &str) {
        run(&self.inner, |s, now| s.kill(job_id, now));
    }

    /// The person confirmed (after a `confirm_restart` effect) that the Dask worker
    /// running job `job_id` may be restarted: sends `kill` with `restart_worker`. Ignored
    /// unless the job is a Dask job cancelling on a worker.
    pub fn restart_worker(&self, job_id: &str) {
        run(&self.inner, |s, _| s.restart_worker(job_id));
    }

    /// Ask the kernel to send job `job_id`'s outputs again from seq `since` (a cell that
    /// lacks them after a reload): the cell then gets each output once, in order. An
    /// unknown job, or a `since` that is not a whole number ≥ 0, is ignored.
    pub fn replay(&self, job_id: &str, since: f64) {
        if since >= 0.0 && since.fract() == 0.0 {
            run(&self.inner, |s, _| s.replay(job_id, since as u64));
        }
    }

    /// Kill every unfinished job, queued ones too.
    pub fn kill_all(&self) {
        run(&self.inner, |s, now| s.kill_all(now));
    }

    /// Forget every finished job (and ask each kernel to forget the ones it has: `clear`).
    pub fn clear_finished(&self) {
        run(&self.inner, |s, _| s.clear_finished());
    }

    /// The kernel restarted, died or was replaced: its unfinished jobs are `lost`.
    pub fn kernel_lost(&self, kernel_id: &str) {
        run(&self.inner, |s, now| s.kernel_lost(kernel_id, now));
    }

    /// The hash of a cell's source that `submit` sends (and the kernel gives back as a
    /// job's `source_hash`): FNV-1a, 64 bits, over its UTF-8 bytes, 16 lowercase hex digits.
    pub fn source_hash(&self, code: &str) -> String {
        scheduler::source_hash(code)
    }

    /// Job `job_id`'s cell was found under another id, `cell_id` (a notebook whose cells
    /// have no stored ids gets new ones on load): later effects name that cell. An
    /// unknown job is ignored; throws an `Error` for an invalid `cell_id`.
    pub fn rebind_cell(&self, job_id: &str, cell_id: &str) -> Result<(), JsError> {
        dispatch(&self.inner, |s, _| s.rebind_cell(job_id, cell_id))?;
        Ok(())
    }

    /// Notebook `from` was renamed `to`: its jobs' effects name `to` from now on, and
    /// their rows move to its group.
    pub fn rename_notebook(&self, from: &str, to: &str) {
        run(&self.inner, |s, _| s.rename_notebook(from, to));
    }

    /// Show a note about job `job_id`'s cell in its row (text only, e.g. that its cell was
    /// not found); `null` or `undefined` removes it. An unknown job is ignored.
    pub fn set_cell_note(&self, job_id: &str, note: Option<String>) {
        run(&self.inner, |s, _| s.set_cell_note(job_id, note));
    }

    /// Every English string the core shows (the panel's, job titles, `problem` messages,
    /// elapsed-time units; placeholders such as `{n}` included), to be looked up in
    /// JupyterLab's translator and handed back to `set_strings`.
    pub fn strings(&self) -> js_sys::Array {
        SOURCES.iter().map(|s| JsValue::from_str(s)).collect()
    }

    /// Use translations from now on: `map` is an object English → translated (strings
    /// missing from it stay English). The panel is drawn again in the new words.
    pub fn set_strings(&self, map: JsValue) {
        let text = match js::to_json(&map) {
            Ok(value) => Text::from_map(&value),
            Err(e) => return log_error(&e.to_string()),
        };
        if let Ok(mut guard) = self.inner.try_borrow_mut() {
            let Inner {
                scheduler, panel, ..
            } = &mut *guard;
            scheduler.set_text(text.clone());
            if let Some(Err(e)) = panel.as_mut().map(|p| p.set_text(text, scheduler)) {
                log_error(&e.to_string());
            }
        }
    }

    /// How long the panel waits between draws in a burst of changes (ms; 0: it draws at
    /// every change). The default is [`panel::PACE_MS`].
    pub fn set_panel_pace(&self, ms: f64) {
        if let Ok(mut guard) = self.inner.try_borrow_mut() {
            guard.pace.set_pace_ms(ms);
        }
    }

    /// A job's state name, or `undefined` for an unknown job.
    pub fn job_state(&self, job_id: &str) -> Option<String> {
        let inner = self.inner.try_borrow().ok()?;
        let job = inner.scheduler.job(job_id)?;
        Some(job.state.as_str().to_owned())
    }
}

fn on_panel_action(inner: &Rc<RefCell<Inner>>, action: Action) {
    match action {
        Action::Tick => {
            if let Ok(mut guard) = inner.try_borrow_mut() {
                if let Some(panel) = guard.panel.as_mut() {
                    panel.tick(js_sys::Date::now());
                }
            }
        }
        Action::Kill(id) => run(inner, |s, now| s.kill(&id, now)),
        Action::Goto(id) => run(inner, |s, _| s.goto_cell(&id).into_iter().collect()),
        Action::SaveOutput(id) => run(inner, |s, _| s.save_output(&id)),
        Action::KillAll => run(inner, |s, now| s.kill_all(now)),
        Action::ClearFinished => run(inner, |s, _| s.clear_finished()),
        Action::ShowMore => {
            if let Ok(mut guard) = inner.try_borrow_mut() {
                let Inner {
                    scheduler, panel, ..
                } = &mut *guard;
                if let Some(panel) = panel.as_mut() {
                    panel.show_more();
                    if let Err(err) = panel.flush(scheduler) {
                        log_error(&err.to_string());
                    }
                }
            }
        }
    }
}

/// [`dispatch`] for events that cannot fail.
fn run(inner: &Rc<RefCell<Inner>>, event: impl FnOnce(&mut Scheduler, f64) -> Vec<Effect>) {
    if let Err(e) = dispatch(inner, |s, now| Ok(event(s, now))) {
        log_error(&e.to_string());
    }
}

/// Feed one event to the scheduler, then [`deliver`] its effects.
fn dispatch(
    inner: &Rc<RefCell<Inner>>,
    event: impl FnOnce(&mut Scheduler, f64) -> error::Result<Vec<Effect>>,
) -> error::Result<()> {
    let now = js_sys::Date::now();
    let effects = {
        let mut guard = inner
            .try_borrow_mut()
            .map_err(|_| Error::Invalid("the core was called while it was busy".into()))?;
        event(&mut guard.scheduler, now)?
    };
    deliver(inner, effects, now);
    Ok(())
}

/// Apply row effects to the panel, then (with no borrow held, so `on_effect` may call
/// back into the core) hand the rest to JavaScript. Not generic, so not inlined into
/// every caller of `dispatch`.
#[inline(never)]
fn deliver(inner: &Rc<RefCell<Inner>>, effects: Vec<Effect>, now: f64) {
    let on_effect = {
        let Ok(mut guard) = inner.try_borrow_mut() else {
            log_error("the core was called while it was busy");
            return;
        };
        for e in &effects {
            if let Effect::RowChanged { job_id } | Effect::RowRemoved { job_id } = e {
                guard.pace.changed(job_id, now);
            }
        }
        let jobs = guard.scheduler.len();
        guard.pace.jobs(jobs, now);
        match guard.pace.ask(now) {
            Draw::Now => draw(&mut guard, now),
            Draw::Due => {}
            Draw::At(at) => {
                let this = guard.this.clone();
                // Replacing the old handle drops a timer that has fired: nothing to cancel.
                guard.draw_timer = Some(Timeout::new((at - now).max(0.0) as u32, move || {
                    if let Some(inner) = this.upgrade() {
                        if let Ok(mut guard) = inner.try_borrow_mut() {
                            draw(&mut guard, js_sys::Date::now());
                        }
                    }
                }));
            }
        }
        guard.on_effect.clone()
    };
    for e in effects.iter().filter(|e| !e.is_panel_only()) {
        let value = js::to_js(e).or_else(|err| {
            js::to_js(&Effect::Problem {
                message: err.to_string(),
            })
        });
        match value {
            Ok(v) => {
                if let Err(thrown) = on_effect.call1(&JsValue::NULL, &v) {
                    web_sys::console::error_2(&"parallel-cell: on_effect threw".into(), &thrown);
                }
            }
            Err(err) => log_error(&err.to_string()),
        }
    }
}

/// Draw the rows that changed, then what depends on all jobs.
fn draw(inner: &mut Inner, now: f64) {
    let Inner {
        scheduler,
        panel,
        pace,
        ..
    } = inner;
    let changed = pace.draw(now);
    match panel.as_mut() {
        Some(panel) => {
            if let Err(err) = panel.draw_changed(changed, scheduler, now) {
                log_error(&err.to_string());
            }
        }
        None => changed.clear(),
    }
}

fn log_error(message: &str) {
    web_sys::console::error_1(&format!("parallel-cell: {message}").into());
}

/// Log panics to the console (they abort: `panic = "abort"`). A few lines of our own
/// rather than `console_error_panic_hook`: the message is what we need, not a JS stack.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            web_sys::console::error_1(&format!("parallel-cell core panicked: {info}").into());
        }));
    });
}
