//! The job state machine: events in, effects out, no I/O.
//!
//! Jobs live per kernel. A kernel becomes ready when its `hello` arrives; until then its
//! jobs wait as `queued`. At most `cap` jobs per kernel run at once, counting the ones
//! started in the kernel (`%job`, `map`); this page's jobs beyond that wait in a FIFO
//! queue. Kernel messages may come twice, late or out of
//! order: every handler is idempotent and ignores what no longer applies. Time is passed
//! in (milliseconds) so the machine stays pure.

mod commands;
mod effect;
mod hold;
mod incoming;
mod job;
mod reconcile;

use std::collections::VecDeque;

pub use effect::Effect;
pub use hold::{Hold, HOLD_MAX_BYTES, HOLD_MAX_OUTPUTS};
pub use job::{title_of, Job, LastLine, Title};

use crate::error::{Error, Result};
use crate::ids::{IdMap, IdSet};
use crate::protocol::{is_valid_id, ClientMsg, ErrorInfo, JobState, Origin};
use crate::text::{Text, T_DEPENDENCY_FAILED, T_STATE};

/// The concurrency cap per kernel when none is set.
pub const DEFAULT_CAP: usize = 4;

/// A request to run a cell in the background.
#[derive(Clone, Copy, Debug)]
pub struct Submit<'a> {
    /// The new job's id (a UUID chosen by the frontend).
    pub job_id: &'a str,
    /// The kernel to run it in.
    pub kernel_id: &'a str,
    /// The notebook's path.
    pub notebook: &'a str,
    /// The cell's id.
    pub cell_id: &'a str,
    /// The cell's source.
    pub code: &'a str,
    /// A job that must finish successfully first ("run after job N").
    pub after: Option<&'a str>,
}

/// One kernel as the scheduler sees it.
#[derive(Debug, Default)]
struct Kernel {
    /// Its `hello` arrived: submits may go out.
    ready: bool,
    /// Frontend jobs waiting to be sent, oldest first.
    queue: VecDeque<String>,
    /// Jobs sent (or started in the kernel) and not finished: they fill the cap.
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

    /// Queue a cell to run in the background.
    pub fn submit(&mut self, s: Submit<'_>, now: f64) -> Result<Vec<Effect>> {
        for (what, id) in [
            ("job_id", s.job_id),
            ("kernel_id", s.kernel_id),
            ("cell_id", s.cell_id),
        ] {
            if !is_valid_id(id) {
                return Err(Error::Invalid(format!(
                    "{what} must be 1-64 characters of [A-Za-z0-9_.:-], got \"{}\"",
                    crate::protocol::truncate(id, 80)
                )));
            }
        }
        if s.notebook.is_empty() {
            return Err(Error::Invalid("notebook must not be empty".into()));
        }
        if self.jobs.contains_key(s.job_id) {
            return Err(Error::DuplicateJob(s.job_id.to_owned()));
        }
        let dep_failed = match s.after.map(|d| (d, self.jobs.get(d))) {
            None => false,
            Some((d, None)) => return Err(Error::UnknownJob(d.to_owned())),
            Some((d, Some(dep))) if dep.kernel_id != s.kernel_id => {
                return Err(Error::Invalid(format!(
                    "job \"{d}\" runs in another kernel; a job can only run after one of its own kernel"
                )))
            }
            Some((_, Some(dep))) => dep.state.is_finished() && dep.state != JobState::Done,
        };
        // Two full literals, this one and `adopted`'s: sharing the defaults was measured
        // at +369 B (a `Job::new`) and +729 B (`..Job::default()`) of gzipped wasm.
        let job = Job {
            id: s.job_id.to_owned(),
            wire_id: s.job_id.to_owned(),
            kernel_id: s.kernel_id.to_owned(),
            notebook: Some(s.notebook.to_owned()),
            cell_id: Some(s.cell_id.to_owned()),
            code: Some(s.code.to_owned()),
            title: title_of(s.code),
            state: JobState::Queued,
            origin: Origin::Frontend,
            num: None,
            sent: false,
            created_at: now,
            started_at: None,
            ended_at: None,
            last_line: LastLine::default(),
            error: None,
            cancel_reason: None,
            assigned: Vec::new(),
            next_seq: 0,
            hold: None,
            after: s.after.map(str::to_owned),
            send_no: 0,
        };
        let mut out = Vec::new();
        self.insert(job, &mut out);
        self.kernels
            .entry(s.kernel_id.to_owned())
            .or_default()
            .queue
            .push_back(s.job_id.to_owned());
        if let (true, Some(dep)) = (dep_failed, s.after) {
            self.fail_dependents(dep, now, &mut out);
        }
        self.pump(s.kernel_id, &mut out);
        Ok(out)
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

    fn insert(&mut self, job: Job, out: &mut Vec<Effect>) {
        self.order.push(job.id.clone());
        push_cell_state(&job, out);
        out.push(Effect::RowChanged {
            job_id: job.id.clone(),
        });
        self.counts[job.state as usize] += 1;
        self.jobs.insert(job.id.clone(), job);
    }

    /// Take in a job the kernel runs that this frontend did not send.
    fn adopt(&mut self, mut job: Job, out: &mut Vec<Effect>) {
        let k = self.kernels.entry(job.kernel_id.clone()).or_default();
        // Jobs started in the kernel (`%job`, `map`) use its threads too: they fill the cap.
        if !job.state.is_finished() {
            k.active.insert(job.id.clone());
        }
        job.send_no = k.sends;
        self.insert(job, out);
    }

    /// Send queued jobs of `kernel_id` while it is ready and under the cap. A job waiting
    /// to run after another waits while that one has not ended (a dependency that failed
    /// has failed it already; one that is gone was cleared after ending `done`).
    fn pump(&mut self, kernel_id: &str, out: &mut Vec<Effect>) {
        let Some(k) = self.kernels.get_mut(kernel_id) else {
            return;
        };
        let mut i = 0;
        while k.ready && k.active.len() < self.cap && i < k.queue.len() {
            let key = &k.queue[i];
            let waiting = match self.jobs.get(key) {
                Some(j) if j.state == JobState::Queued && !j.sent => j
                    .after
                    .as_ref()
                    .and_then(|d| self.jobs.get(d))
                    .is_some_and(|d| !d.state.is_finished()),
                _ => {
                    k.queue.remove(i);
                    continue;
                }
            };
            if waiting {
                i += 1;
                continue;
            }
            let Some(key) = k.queue.remove(i) else {
                break;
            };
            let Some(job) = self.jobs.get_mut(&key) else {
                continue;
            };
            job.sent = true;
            job.send_no = k.sends;
            k.sends += 1;
            out.push(Effect::Send {
                kernel_id: kernel_id.to_owned(),
                message: ClientMsg::Submit {
                    job_id: job.wire_id.clone(),
                    cell_id: job.cell_id.clone().unwrap_or_default(),
                    notebook: job.notebook.clone().unwrap_or_default(),
                    code: job.code.take().unwrap_or_default(),
                },
            });
            k.active.insert(key);
        }
    }

    /// Job `key` ended without success: the jobs waiting to run after it, and the ones
    /// after those, end as `error` (`DependencyFailed`) unsent.
    fn fail_dependents(&mut self, key: &str, now: f64, out: &mut Vec<Effect>) {
        let mut ended = vec![key.to_owned()];
        while let Some(dep) = ended.pop() {
            let Some(d) = self.jobs.get(&dep) else {
                continue;
            };
            let why = self.text.fill_all(
                T_DEPENDENCY_FAILED,
                &[
                    ("{title}", &d.title.words(&self.text)),
                    ("{state}", self.text.get(T_STATE + d.state as usize)),
                ],
            );
            let waiting: Vec<String> = self
                .jobs()
                .filter(|j| j.after.as_ref() == Some(&dep) && !j.state.is_finished())
                .map(|j| j.id.clone())
                .collect();
            for w in waiting {
                if let Some(job) = self.jobs.get_mut(&w) {
                    job.error = Some(ErrorInfo {
                        ename: "DependencyFailed".into(),
                        evalue: why.clone(),
                        traceback: Vec::new(),
                    });
                }
                self.set_state(&w, JobState::Error, now, out);
                ended.push(w);
            }
        }
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
    }
}
