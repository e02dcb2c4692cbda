//! What the person asks: kill, kill all, clear finished, go to a cell; and what the
//! frontend notices: a kernel that went away, a job's cell found under another id.

use super::{dedupe_rows, push_cell_state, Effect, Scheduler};
use crate::error::{Error, Result};
use crate::protocol::{is_valid_id, ClientMsg, JobState, Target, MAX_CLEAR};

impl Scheduler {
    /// Kill a job: a job never sent ends here as `killed` (and the unsent jobs after it
    /// end `DependencyFailed`); a sent one, queued in the kernel or running, turns
    /// `cancelling` and a `kill` goes to the kernel (again, if it was cancelling: the
    /// kernel escalates).
    /// A Dask job cancelling on a worker is not asked again: the last resort, restarting
    /// its worker, needs the person's word ([`Effect::ConfirmRestart`], then
    /// [`Scheduler::restart_worker`]).
    pub fn kill(&mut self, job_id: &str, now: f64) -> Vec<Effect> {
        let mut out = Vec::new();
        self.kill_into(job_id, true, now, &mut out);
        dedupe_rows(&mut out);
        out
    }

    /// "Save output" in a job's row: ask its kernel for the text the job's replay log
    /// holds (answered in `text` parts, each an [`Effect::OutputText`]).
    pub fn save_output(&self, job_id: &str) -> Vec<Effect> {
        self.jobs
            .get(job_id)
            .filter(|job| job.sent)
            .map(|job| Effect::Send {
                kernel_id: job.kernel_id.clone(),
                message: ClientMsg::Text {
                    job_id: job.wire_id.clone(),
                },
            })
            .into_iter()
            .collect()
    }

    /// The person confirmed that the worker running Dask job `job_id` may be restarted:
    /// a `kill` with `restart_worker` goes out. Only for a Dask job that is cancelling on
    /// a worker; anything else is ignored.
    pub fn restart_worker(&mut self, job_id: &str) -> Vec<Effect> {
        match self.jobs.get(job_id) {
            Some(job)
                if job.place.target == Target::Dask
                    && job.state == JobState::Cancelling
                    && job.place.worker.is_some() =>
            {
                vec![Effect::Send {
                    kernel_id: job.kernel_id.clone(),
                    message: ClientMsg::Kill {
                        job_id: job.wire_id.clone(),
                        restart_worker: true,
                    },
                }]
            }
            _ => Vec::new(),
        }
    }

    /// Kill every unfinished job, queued ones too (jobs already cancelling are not asked
    /// twice; no worker is restarted).
    pub fn kill_all(&mut self, now: f64) -> Vec<Effect> {
        let mut out = Vec::new();
        let keys: Vec<String> = self
            .jobs()
            .filter(|j| !j.state.is_finished())
            .map(|j| j.id.clone())
            .collect();
        for key in keys {
            self.kill_into(&key, false, now, &mut out);
        }
        dedupe_rows(&mut out);
        out
    }

    /// Forget every finished job: its row goes and its cell carries no job any more
    /// (`cell_state` with state `null`); each kernel that knows some of them (sent or
    /// adopted, not lost) is asked to forget them too (`clear`, at most [`MAX_CLEAR`] ids
    /// each).
    pub fn clear_finished(&mut self) -> Vec<Effect> {
        let mut out = Vec::new();
        let gone: Vec<String> = self
            .jobs()
            .filter(|j| j.state.is_finished())
            .map(|j| j.id.clone())
            .collect();
        // Kernels in the order of their first cleared job, each with its wire ids.
        let mut asks: Vec<(String, Vec<String>)> = Vec::new();
        for key in &gone {
            let Some(job) = self.jobs.get(key) else {
                continue;
            };
            let ready = self.kernels.get(&job.kernel_id).is_some_and(|k| k.ready);
            if ready && job.sent && job.state != JobState::Lost {
                match asks.iter_mut().find(|(k, _)| *k == job.kernel_id) {
                    Some((_, ids)) => ids.push(job.wire_id.clone()),
                    None => asks.push((job.kernel_id.clone(), vec![job.wire_id.clone()])),
                }
            }
        }
        for key in gone {
            self.forget(&key, &mut out);
        }
        let jobs = &self.jobs;
        self.order.retain(|key| jobs.contains_key(key));
        for (kernel_id, ids) in asks {
            for chunk in ids.chunks(MAX_CLEAR) {
                out.push(Effect::Send {
                    kernel_id: kernel_id.clone(),
                    message: ClientMsg::Clear {
                        job_ids: chunk.to_vec(),
                    },
                });
            }
        }
        out
    }

    /// The kernel forgot these jobs (`cleared`, for any page's `clear` or `jobs.flush()`):
    /// their rows go, as with [`Scheduler::clear_finished`].
    pub(super) fn on_cleared(
        &mut self,
        kernel_id: &str,
        wire_ids: &[String],
        out: &mut Vec<Effect>,
    ) {
        let mut any = false;
        for id in wire_ids {
            let known = self.key(kernel_id, id).filter(|k| {
                // Only a job the kernel had: an unsent one of ours is not the one it means.
                self.jobs.get(k).is_some_and(|j| j.sent)
            });
            if let Some(key) = known {
                self.forget(&key, out);
                any = true;
            }
        }
        if any {
            let jobs = &self.jobs;
            self.order.retain(|key| jobs.contains_key(key));
        }
    }

    /// The kernel restarted, died or was swapped: its unfinished jobs are `lost`, and it
    /// must say `hello` again before anything is sent to it.
    pub fn kernel_lost(&mut self, kernel_id: &str, now: f64) -> Vec<Effect> {
        let mut out = Vec::new();
        let keys: Vec<String> = self
            .jobs()
            .filter(|j| j.kernel_id == kernel_id && !j.state.is_finished())
            .map(|j| j.id.clone())
            .collect();
        for key in keys {
            self.transition(&key, JobState::Lost, now, &mut out);
        }
        // Nothing more comes from that kernel: let out what waited for a replay.
        let held: Vec<String> = self
            .jobs()
            .filter(|j| j.kernel_id == kernel_id && j.hold.is_some())
            .map(|j| j.id.clone())
            .collect();
        for key in held {
            self.release(&key, &mut out);
        }
        self.kernels.remove(kernel_id);
        out
    }

    /// Ask the kernel to send job `job_id`'s outputs again from seq `since` (e.g. its cell
    /// lacks them after a reload). Outputs that arrive meanwhile past the gap are held back
    /// until the replay fills it, so the cell gets each output once, in order. Nothing
    /// happens for an unknown job or when `since` is not below the job's next seq.
    pub fn replay(&mut self, job_id: &str, since: u64) -> Vec<Effect> {
        let mut out = Vec::new();
        if let Some(job) = self.jobs.get(job_id) {
            let until = job.next_seq;
            self.start_replay(job_id, since, until, &mut out);
        }
        out
    }

    /// Notebook `from` was renamed `to` (the page follows its notebooks): its jobs' effects
    /// name `to` from now on, and their rows move to its group.
    pub fn rename_notebook(&mut self, from: &str, to: &str) -> Vec<Effect> {
        let mut out = Vec::new();
        if from == to {
            return out;
        }
        for job in self.jobs.values_mut() {
            if job.from.notebook.as_deref() == Some(from) {
                job.from.notebook = Some(to.to_owned());
                out.push(Effect::RowChanged {
                    job_id: job.id.clone(),
                });
            }
        }
        out
    }

    /// The effect that shows a job's cell, if it has one.
    pub fn goto_cell(&self, job_id: &str) -> Option<Effect> {
        let job = self.jobs.get(job_id)?;
        job.from.cell_id.as_ref()?;
        Some(Effect::GotoCell {
            notebook: job.from.notebook.clone(),
            cell_id: job.from.cell_id.clone(),
        })
    }

    /// The frontend found job `job_id`'s cell under another id `cell_id` (a notebook whose
    /// cells have no stored ids gets new ones when it loads): later effects name that
    /// cell, and it gets the job's state at once. An unknown job is ignored; an invalid
    /// `cell_id` is an error.
    pub fn rebind_cell(&mut self, job_id: &str, cell_id: &str) -> Result<Vec<Effect>> {
        if !is_valid_id(cell_id) {
            return Err(Error::Invalid(format!(
                "cell_id must be 1-64 characters of [A-Za-z0-9_.:-], got \"{}\"",
                crate::protocol::truncate(cell_id, 80)
            )));
        }
        let mut out = Vec::new();
        if let Some(job) = self.jobs.get_mut(job_id) {
            if job.from.cell_id.as_deref() != Some(cell_id) {
                job.from.cell_id = Some(cell_id.to_owned());
                push_cell_state(job, &mut out);
                out.push(Effect::RowChanged {
                    job_id: job_id.to_owned(),
                });
            }
        }
        Ok(out)
    }

    /// Show `note` (the frontend's words about the job's cell, e.g. that it was not
    /// found) in job `job_id`'s row; `None` removes it. An unknown job is ignored.
    pub fn set_cell_note(&mut self, job_id: &str, note: Option<String>) -> Vec<Effect> {
        match self.jobs.get_mut(job_id) {
            Some(job) if job.cell_note != note => {
                job.cell_note = note;
                vec![Effect::RowChanged {
                    job_id: job_id.to_owned(),
                }]
            }
            _ => Vec::new(),
        }
    }

    fn kill_into(&mut self, key: &str, again: bool, now: f64, out: &mut Vec<Effect>) {
        let Some(job) = self.jobs.get(key) else {
            return;
        };
        match (job.state, job.sent) {
            (s, _) if s.is_finished() => {}
            // Never sent (its kernel has not said `hello`): the kernel never hears of it.
            (JobState::Queued, false) => self.transition(key, JobState::Killed, now, out),
            (JobState::Cancelling, _) if !again => {}
            (JobState::Cancelling, _)
                if job.place.target == Target::Dask && job.place.worker.is_some() =>
            {
                out.push(Effect::ConfirmRestart {
                    job_id: key.to_owned(),
                    worker: job.place.worker.clone().unwrap_or_default(),
                });
            }
            _ => {
                let message = ClientMsg::Kill {
                    job_id: job.wire_id.clone(),
                    restart_worker: false,
                };
                let kernel_id = job.kernel_id.clone();
                self.transition(key, JobState::Cancelling, now, out);
                out.push(Effect::Send { kernel_id, message });
            }
        }
    }
}
