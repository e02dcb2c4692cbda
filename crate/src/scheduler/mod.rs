//! The job state machine: events in, effects out, no I/O.
//!
//! The kernel owns the jobs: its queue, its cap, the order and the dependencies. This
//! machine tracks them for the panel and the cells: a submit goes to the kernel at once
//! (once the kernel's `hello` has come), the job shows `queued` until the kernel says it
//! started, and the kernel's messages and `jobs` lists keep the mirror true. Kernel
//! messages may come twice, late or out of order: every handler is idempotent and ignores
//! what no longer applies. Time is passed in (milliseconds) so the machine stays pure.
//!
//! A Dask job stays `queued` until the kernel says a worker took it.

mod commands;
mod effect;
mod hold;
mod incoming;
mod job;
mod last_line;
mod reconcile;
mod submit;
mod waiting;

use std::collections::VecDeque;

pub use effect::Effect;
pub use hold::{Hold, HOLD_MAX_BYTES, HOLD_MAX_OUTPUTS};
pub use job::{title_of, Clocks, Job, Title, MAX_TITLE};
pub use last_line::LastLine;
pub use submit::{source_hash, Submit};
pub use waiting::Waiting;

use crate::ids::{IdMap, IdSet};
use crate::protocol::{JobHead, JobState};
use crate::text::Text;

/// One kernel as the scheduler sees it.
#[derive(Debug, Default)]
struct Kernel {
    /// Its `hello` arrived: submits go out at once.
    ready: bool,
    /// Jobs submitted before it was ready, in arrival order: sent on `hello`.
    unsent: VecDeque<String>,
    /// Submits sent so far (orders sends against `list` requests).
    sends: u64,
    /// `sends` when each unanswered `list` went out, oldest first.
    list_marks: VecDeque<u64>,
}

/// The state machine. See the module docs.
#[derive(Debug, Default)]
pub struct Scheduler {
    jobs: IdMap<Job>,
    /// Job keys, oldest first.
    order: Vec<String>,
    kernels: IdMap<Kernel>,
    /// How many jobs are in each state, indexed like [`JobState::ALL`].
    counts: [usize; 7],
    /// The words of titles, `problem` messages and errors it makes.
    text: Text,
    /// Jobs taken in so far (the last one's `serial`).
    arrived: u64,
    /// The keys of the jobs that run after each job (some may be gone or changed since:
    /// check `after` when reading).
    dependents: IdMap<Vec<String>>,
}

impl Scheduler {
    /// An empty scheduler.
    pub fn new() -> Self {
        Self::default()
    }

    /// The words it makes titles, `problem` messages and errors in.
    pub fn text(&self) -> &Text {
        &self.text
    }

    /// Speak another language from now on (`Core.set_strings`); titles already made follow,
    /// being put in words only when shown.
    pub fn set_text(&mut self, text: Text) {
        self.text = text;
    }

    /// A job by its frontend id.
    pub fn job(&self, job_id: &str) -> Option<&Job> {
        self.jobs.get(job_id)
    }

    /// Every job, oldest first.
    pub fn jobs(&self) -> impl Iterator<Item = &Job> {
        self.jobs_from(0)
    }

    /// The jobs after the `first` oldest, oldest first.
    pub fn jobs_from(&self, first: usize) -> impl Iterator<Item = &Job> {
        let rest = self.order.get(first..).unwrap_or_default();
        rest.iter().filter_map(|k| self.jobs.get(k))
    }

    /// How many jobs are in each state, indexed like [`JobState::ALL`].
    pub fn counts(&self) -> [usize; 7] {
        self.counts
    }

    /// How many jobs exist.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Whether there are no jobs.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    // ---- internals ----

    /// The key of kernel `kernel_id`'s job `wire_id`, if known.
    fn key(&self, kernel_id: &str, wire_id: &str) -> Option<String> {
        match self.jobs.get(wire_id) {
            Some(j) if j.kernel_id == kernel_id => Some(wire_id.to_owned()),
            _ => {
                let composite = format!("{kernel_id}/{wire_id}");
                self.jobs.contains_key(&composite).then_some(composite)
            }
        }
    }

    /// A job kernel `kernel_id` told us about and this page did not know: its number and
    /// cell, not its code. Its key is its own id unless another kernel's job has it;
    /// `after` (the kernel's id of the job it runs after) becomes our key for that job when
    /// we know it.
    fn adopted(&self, kernel_id: &str, head: JobHead, after: Option<String>, now: f64) -> Job {
        let JobHead {
            job_id: wire_id,
            num,
            first_line,
            from,
        } = head;
        // The kernel's line for the code this page never saw, else its number.
        let title = first_line
            .as_deref()
            .map_or(Title::Numbered(num, from.origin), title_of);
        let key = if self.jobs.contains_key(&wire_id) {
            format!("{kernel_id}/{wire_id}")
        } else {
            wire_id.clone()
        };
        let mut job = Job::new(key, wire_id, kernel_id, title, from, now);
        job.state = JobState::Running;
        job.num = Some(num);
        job.sent = true;
        job.after = after.map(|a| self.key(kernel_id, &a).unwrap_or(a));
        job
    }

    fn insert(&mut self, mut job: Job, out: &mut Vec<Effect>) {
        self.arrived += 1;
        job.serial = self.arrived;
        self.order.push(job.id.clone());
        // No `RowChanged`: a new job is the newest, and the panel draws the newest jobs that
        // fit its page when it flushes (a reload's 10,000 jobs cost one flush, not 10,000
        // effects).
        push_cell_state(&job, out);
        self.counts[job.state as usize] += 1;
        if let Some(dep) = &job.after {
            self.dependents
                .entry(dep.clone())
                .or_default()
                .push(job.id.clone());
        }
        self.jobs.insert(job.id.clone(), job);
    }

    /// Take in a job the kernel runs that this frontend did not send.
    fn adopt(&mut self, mut job: Job, out: &mut Vec<Effect>) {
        let k = self.kernels.entry(job.kernel_id.clone()).or_default();
        job.send_no = k.sends;
        self.insert(job, out);
    }

    /// Forget job `key` (cleared here or by the kernel): its row goes and its cell
    /// carries no job any more (`cell_state` with state `null`).
    fn forget(&mut self, key: &str, out: &mut Vec<Effect>) {
        let Some(job) = self.jobs.remove(key) else {
            return;
        };
        self.counts[job.state as usize] -= 1;
        self.dependents.remove(key);
        if job.from.cell_id.is_some() {
            out.push(Effect::CellState {
                job_id: key.to_owned(),
                notebook: job.from.notebook,
                cell_id: job.from.cell_id,
                state: None,
            });
        }
        out.push(Effect::RowRemoved {
            job_id: key.to_owned(),
        });
    }

    /// The jobs that run after job `key`.
    fn dependents_of<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Job> + 'a {
        let keys = self
            .dependents
            .get(key)
            .map(Vec::as_slice)
            .unwrap_or_default();
        keys.iter()
            .filter_map(|k| self.jobs.get(k))
            .filter(move |j| j.after.as_deref() == Some(key))
    }

    /// The rows of the queued jobs that run after job `key` say what they wait for:
    /// redraw them (it changed: its number became known, or it ended).
    fn touch_dependents(&self, key: &str, out: &mut Vec<Effect>) {
        out.extend(
            self.dependents_of(key)
                .filter(|j| j.state == JobState::Queued)
                .map(|j| Effect::RowChanged {
                    job_id: j.id.clone(),
                }),
        );
    }

    /// Move a job to `state` and emit what follows from it, for it and its dependents
    /// (the unsent ones of a job that ended badly end too: the kernel never had them).
    fn transition(&mut self, key: &str, state: JobState, now: f64, out: &mut Vec<Effect>) {
        self.set_state(key, state, now, out);
        if state.is_finished() && state != JobState::Done {
            self.fail_unsent_dependents(key, now, out);
        }
    }

    /// Move a job to `state` and emit what follows from it.
    fn set_state(&mut self, key: &str, state: JobState, now: f64, out: &mut Vec<Effect>) {
        let Some(job) = self.jobs.get_mut(key) else {
            return;
        };
        if job.state == state {
            return;
        }
        self.counts[job.state as usize] -= 1;
        self.counts[state as usize] += 1;
        job.state = state;
        if state.is_finished() {
            job.clocks.ended_at = Some(now);
        }
        push_cell_state(job, out);
        out.push(Effect::RowChanged {
            job_id: key.to_owned(),
        });
        if state.is_finished() {
            out.push(Effect::Notify {
                job_id: key.to_owned(),
                notebook: job.from.notebook.clone(),
                cell_id: job.from.cell_id.clone(),
                state,
                title: job.title.words(&self.text).into_owned(),
            });
            self.touch_dependents(key, out);
        }
    }
}

fn push_cell_state(job: &Job, out: &mut Vec<Effect>) {
    if job.from.cell_id.is_some() {
        out.push(Effect::CellState {
            job_id: job.id.clone(),
            notebook: job.from.notebook.clone(),
            cell_id: job.from.cell_id.clone(),
            state: Some(job.state),
        });
    }
}

/// Keep only the first `RowChanged` per job: the panel redraws from the final state anyway.
fn dedupe_rows(out: &mut Vec<Effect>) {
    let mut seen = IdSet::default();
    out.retain(|e| match e {
        Effect::RowChanged { job_id } => seen.insert(job_id.clone()),
        _ => true,
    });
}
