//! What the kernel says: `hello`, `started`, `output`, `cancelling`, `finished`, `error`.
//!
//! Each handler is idempotent: a duplicate, late or out-of-order message changes nothing
//! it should not, and a message about an unknown job is dropped (or, for `started`, the
//! job is adopted).

use super::{adopted, dedupe_rows, Effect, Scheduler};
use crate::protocol::{
    Cancelling, ClientMsg, ErrorInfo, Finished, Hello, JobList, JobState, KernelError, KernelMsg,
    Outputs, Started, PROTOCOL_VERSION,
};
use crate::text::{T_KERNEL_ERROR, T_KERNEL_ERROR_JOB, T_PROTOCOL};

impl Scheduler {
    /// Handle one decoded message from kernel `kernel_id`.
    pub fn receive(&mut self, kernel_id: &str, msg: KernelMsg, now: f64) -> Vec<Effect> {
        let mut out = Vec::new();
        match msg {
            KernelMsg::Hello(Hello { protocol, .. }) => {
                if protocol != PROTOCOL_VERSION {
                    out.push(Effect::Problem {
                        message: self.text.fill_all(
                            T_PROTOCOL,
                            &[
                                ("{theirs}", &protocol.to_string()),
                                ("{ours}", &PROTOCOL_VERSION.to_string()),
                            ],
                        ),
                    });
                    return out;
                }
                let k = self.kernels.entry(kernel_id.to_owned()).or_default();
                k.ready = true;
                // Every (re)opened comm asks what the kernel runs: a reloaded page adopts
                // its jobs, a reconnect finds the ones it missed. It goes out before any
                // queued submit, and remembers how many submits preceded it, so the
                // answer is never mistaken as missing a job sent after it.
                k.list_marks.push_back(k.sends);
                out.push(Effect::Send {
                    kernel_id: kernel_id.to_owned(),
                    message: ClientMsg::List,
                });
                self.pump(kernel_id, &mut out);
            }
            KernelMsg::Started(Started {
                job_id,
                num,
                cell_id,
                notebook,
                origin,
                ..
            }) => match self.key(kernel_id, &job_id) {
                Some(key) => self.on_started(&key, num, now, &mut out),
                None => {
                    let key = self.free_key(kernel_id, &job_id);
                    let mut job = adopted(key, job_id, kernel_id, num, origin, now);
                    job.notebook = notebook;
                    job.cell_id = cell_id;
                    job.state = JobState::Running;
                    job.started_at = Some(now);
                    self.adopt(job, &mut out);
                }
            },
            KernelMsg::Output(Outputs {
                job_id,
                seq,
                outputs,
            }) => {
                if let Some(key) = self.key(kernel_id, &job_id) {
                    self.on_output(&key, seq, outputs, &mut out);
                }
            }
            KernelMsg::Cancelling(Cancelling { job_id, reason }) => {
                if let Some(job) = self
                    .key(kernel_id, &job_id)
                    .and_then(|k| self.jobs.get_mut(&k))
                {
                    if !job.state.is_finished() {
                        job.cancel_reason = reason;
                        let key = job.id.clone();
                        self.transition(&key, JobState::Cancelling, now, &mut out);
                        out.push(Effect::RowChanged { job_id: key });
                    }
                }
            }
            KernelMsg::Finished(Finished {
                job_id,
                state,
                error,
                assigned,
                ..
            }) => {
                if let Some(key) = self.key(kernel_id, &job_id) {
                    self.on_finished(&key, state, error, assigned, now, &mut out);
                    self.pump(kernel_id, &mut out);
                }
            }
            KernelMsg::Jobs(JobList { jobs }) => self.reconcile(kernel_id, jobs, now, &mut out),
            KernelMsg::Error(KernelError { message, job_id }) => {
                let key = job_id.and_then(|id| self.key(kernel_id, &id));
                let message = match key.as_ref().and_then(|k| self.jobs.get(k)) {
                    Some(job) => self.text.fill_all(
                        T_KERNEL_ERROR_JOB,
                        &[
                            ("{job}", &job.describe(&self.text)),
                            ("{message}", &message),
                        ],
                    ),
                    None => self.text.fill(T_KERNEL_ERROR, "{message}", &message),
                };
                // E.g. a replay of a job the kernel no longer knows: stop waiting for it.
                if let Some(key) = key {
                    self.release(&key, &mut out);
                }
                out.push(Effect::Problem { message });
            }
        }
        dedupe_rows(&mut out);
        out
    }

    fn on_started(&mut self, key: &str, num: u64, now: f64, out: &mut Vec<Effect>) {
        let Some(job) = self.jobs.get_mut(key) else {
            return;
        };
        job.num = Some(num);
        if job.state.is_finished() {
            return; // a late `started`: the job already ended
        }
        job.started_at.get_or_insert(now);
        if !job.sent {
            // Started without our submit (another tab sent it): it holds a slot now.
            job.sent = true;
            if let Some(k) = self.kernels.get_mut(&job.kernel_id) {
                k.active.insert(key.to_owned());
            }
        }
        if job.state == JobState::Queued {
            self.transition(key, JobState::Running, now, out);
        }
        out.push(Effect::RowChanged {
            job_id: key.to_owned(),
        });
    }

    fn on_finished(
        &mut self,
        key: &str,
        state: JobState,
        error: Option<ErrorInfo>,
        assigned: Vec<String>,
        now: f64,
        out: &mut Vec<Effect>,
    ) {
        let Some(job) = self.jobs.get_mut(key) else {
            return;
        };
        if job.state.is_finished() || !state.is_finished() {
            return; // a duplicate or late `finished`
        }
        job.error = error;
        job.assigned = assigned;
        job.cancel_reason = None;
        job.sent = true;
        self.transition(key, state, now, out);
    }
}
