//! The job state machine: events in, effects out, no I/O.
//!
//! Jobs live per kernel. A kernel becomes ready when its `hello` arrives; until then its
//! jobs wait as `queued`. At most `cap` jobs per kernel run at once, counting the ones
//! started in the kernel (`%job`, `map`); this page's jobs beyond that wait in a FIFO
//! queue. Kernel messages may come twice, late or out of
//! order: every handler is idempotent and ignores what no longer applies. Time is passed
//! in (milliseconds) so the machine stays pure.
//!
//! Dask jobs take no slot: Dask queues them on the cluster, so they are sent as soon as
//! their kernel is ready (and a job they wait for has ended), and stay `queued` until the
//! kernel says a worker took them.

mod commands;
mod effect;
mod hold;
mod incoming;
mod job;
mod queue;
mod reconcile;

use std::collections::VecDeque;

pub use effect::Effect;
pub use hold::{Hold, HOLD_MAX_BYTES, HOLD_MAX_OUTPUTS};
pub use job::{title_of, Job, LastLine, Title};
pub use queue::Submit;

use crate::ids::{IdMap, IdSet};
use crate::protocol::{JobState, Origin, Target};
use crate::text::Text;

/// The concurrency cap per kernel when none is set.
pub const DEFAULT_CAP: usize = 4;

/// One kernel as the scheduler sees it.
#[derive(Debug, Default)]
struct Kernel {
    /// Its `hello` arrived: submits may go out.
    ready: bool,
    /// Frontend thread jobs waiting to be sent, oldest first.
    queue: VecDeque<String>,
    /// Frontend Dask jobs waiting to be sent (for `hello` or a job they run after).
    dask: VecDeque<String>,
    /// Thread jobs sent (or started in the kernel) and not finished: they fill the cap.
    active: IdSet,
    /// Submits sent so far (orders sends against `list` requests).
    sends: u64,
    /// `sends` when each unanswered `list` went out, oldest first.
    list_marks: VecDeque<u64>,
}

/// The state machine. See the module docs.
#[derive(Debug)]
pub struct Scheduler {
    cap: usize,
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
}

impl Default for Scheduler {
    fn default() -> Self {
        Self::new(DEFAULT_CAP)
    }
}

impl Scheduler {
    /// An empty scheduler running at most `cap` jobs per kernel (at least 1).
    pub fn new(cap: usize) -> Self {
        Scheduler {
            cap: cap.max(1),
            jobs: IdMap::default(),
            order: Vec::new(),
            kernels: IdMap::default(),
            counts: [0; 7],
            text: Text::default(),
            arrived: 0,
        }
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

    /// The concurrency cap per kernel.
    pub fn cap(&self) -> usize {
        self.cap
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

    /// A key for a job adopted from a kernel: its own id unless another kernel's job has it.
    fn free_key(&self, kernel_id: &str, wire_id: &str) -> String {
        if self.jobs.contains_key(wire_id) {
            format!("{kernel_id}/{wire_id}")
        } else {
            wire_id.to_owned()
        }
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
        self.jobs.insert(job.id.clone(), job);
    }

    /// Take in a job the kernel runs that this frontend did not send.
    fn adopt(&mut self, mut job: Job, out: &mut Vec<Effect>) {
        let k = self.kernels.entry(job.kernel_id.clone()).or_default();
        // Jobs started in the kernel (`%job`, `map`) use its threads too: they fill the cap.
        if !job.state.is_finished() && job.target == Target::Thread {
            k.active.insert(job.id.clone());
        }
        job.send_no = k.sends;
        self.insert(job, out);
    }

    /// Move a job to `state` and emit what follows from it, for it and its dependents.
    fn transition(&mut self, key: &str, state: JobState, now: f64, out: &mut Vec<Effect>) {
        self.set_state(key, state, now, out);
        if state.is_finished() && state != JobState::Done {
            self.fail_dependents(key, now, out);
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
            job.ended_at = Some(now);
            if let Some(k) = self.kernels.get_mut(&job.kernel_id) {
                k.active.remove(key);
            }
        }
        push_cell_state(job, out);
        out.push(Effect::RowChanged {
            job_id: key.to_owned(),
        });
        if state.is_finished() {
            out.push(Effect::Notify {
                job_id: key.to_owned(),
                notebook: job.notebook.clone(),
                cell_id: job.cell_id.clone(),
                state,
                title: job.title.words(&self.text).into_owned(),
            });
        }
    }
}

fn job_kernel(jobs: &IdMap<Job>, key: &str) -> String {
    jobs.get(key)
        .map(|j| j.kernel_id.clone())
        .unwrap_or_default()
}

fn push_cell_state(job: &Job, out: &mut Vec<Effect>) {
    if job.cell_id.is_some() {
        out.push(Effect::CellState {
            job_id: job.id.clone(),
            notebook: job.notebook.clone(),
            cell_id: job.cell_id.clone(),
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

/// A job the kernel told us about: its number `num`, not its code.
fn adopted(
    key: String,
    wire_id: String,
    kernel_id: &str,
    num: u64,
    origin: Origin,
    now: f64,
) -> Job {
    Job {
        id: key,
        wire_id,
        kernel_id: kernel_id.to_owned(),
        notebook: None,
        cell_id: None,
        code: None,
        title: Title::Numbered(num, origin),
        state: JobState::Running,
        origin,
        target: Target::Thread,
        worker: None,
        dashboard: None,
        num: Some(num),
        sent: true,
        created_at: now,
        started_at: None,
        ended_at: None,
        last_line: LastLine::default(),
        error: None,
        cancel_reason: None,
        assigned: Vec::new(),
        next_seq: 0,
        hold: None,
        after: None,
        send_no: 0,
        serial: 0,
    }
}
