//! What the person asks: kill, kill all, clear finished, change the cap, go to a cell;
//! and what the frontend notices: a kernel that went away.

use super::{dedupe_rows, job_kernel, Effect, Scheduler};
use crate::protocol::{ClientMsg, JobState, Target};

impl Scheduler {
    /// Kill a job: a job never sent ends here as `killed`; a sent one turns `cancelling`
    /// and a `kill` goes to the kernel (again, if it was cancelling: the kernel escalates).
    /// A Dask job cancelling on a worker is not asked again: the last resort, restarting
    /// its worker, needs the person's word ([`Effect::ConfirmRestart`], then
    /// [`Scheduler::restart_worker`]).
    pub fn kill(&mut self, job_id: &str, now: f64) -> Vec<Effect> {
        let mut out = Vec::new();
        self.kill_into(job_id, true, now, &mut out);
        dedupe_rows(&mut out);
        out
    }

    /// The person confirmed that the worker running Dask job `job_id` may be restarted:
    /// a `kill` with `restart_worker` goes out. Only for a Dask job that is cancelling on
    /// a worker; anything else is ignored.
    pub fn restart_worker(&mut self, job_id: &str) -> Vec<Effect> {
        match self.jobs.get(job_id) {
            Some(job)
                if job.target == Target::Dask
                    && job.state == JobState::Cancelling
                    && job.worker.is_some() =>
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

    /// Kill every unfinished job (jobs already cancelling are not asked twice; no worker
    /// is restarted).
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
    /// (`cell_state` with state `null`). (A
    /// job waiting to run after a cleared one is not affected: a failed dependency has
    /// failed its dependents already, so a cleared one ended `done`.)
    pub fn clear_finished(&mut self) -> Vec<Effect> {
        let mut out = Vec::new();
        let gone: Vec<String> = self
            .jobs()
            .filter(|j| j.state.is_finished())
            .map(|j| j.id.clone())
            .collect();
        for key in gone {
            let Some(job) = self.jobs.remove(&key) else {
                continue;
            };
            self.counts[job.state as usize] -= 1;
            if job.cell_id.is_some() {
                out.push(Effect::CellState {
                    job_id: key.clone(),
                    notebook: job.notebook,
                    cell_id: job.cell_id,
                    state: None,
                });
            }
            out.push(Effect::RowRemoved { job_id: key });
        }
        let jobs = &self.jobs;
        self.order.retain(|key| jobs.contains_key(key));
        out
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

    /// Change the cap (at least 1) and send whatever now fits.
    pub fn set_cap(&mut self, cap: usize) -> Vec<Effect> {
        self.cap = cap.max(1);
        let mut ids: Vec<String> = self.kernels.keys().cloned().collect();
        ids.sort();
        let mut out = Vec::new();
        for id in ids {
            self.pump(&id, &mut out);
        }
        dedupe_rows(&mut out);
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

    /// The effect that shows a job's cell, if it has one.
    pub fn goto_cell(&self, job_id: &str) -> Option<Effect> {
        let job = self.jobs.get(job_id)?;
        job.cell_id.as_ref()?;
        Some(Effect::GotoCell {
            notebook: job.notebook.clone(),
            cell_id: job.cell_id.clone(),
        })
    }

    fn kill_into(&mut self, key: &str, again: bool, now: f64, out: &mut Vec<Effect>) {
        let Some(job) = self.jobs.get(key) else {
            return;
        };
        match (job.state, job.sent) {
            (s, _) if s.is_finished() => {}
            (JobState::Queued, false) => {
                self.transition(key, JobState::Killed, now, out);
                let kernel_id = job_kernel(&self.jobs, key);
                self.pump(&kernel_id, out);
            }
            (JobState::Cancelling, _) if !again => {}
            (JobState::Cancelling, _) if job.target == Target::Dask && job.worker.is_some() => {
                out.push(Effect::ConfirmRestart {
                    job_id: key.to_owned(),
                    worker: job.worker.clone().unwrap_or_default(),
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
