//! What the kernel says: `hello`, `queued`, `started`, `placed`, `output`, `cancelling`,
//! `finished`, `cleared`, `log_trimmed`, `threads`, `conflict`, `text`, `error`.
//!
//! Each handler is idempotent: a duplicate, late or out-of-order message changes nothing
//! it should not, and a message about an unknown job is dropped (or, for `queued` and
//! `started`, the job is adopted).

use super::{dedupe_rows, Effect, Scheduler};
use crate::protocol::{
    Cancelling, Cleared, ClientMsg, Conflict, ErrorInfo, Finished, Hello, JobList, JobState,
    JobText, KernelError, KernelMsg, LogTrimmed, Outputs, Placed, Queued, Started, Target, Threads,
    PROTOCOL_VERSION,
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
                // its jobs, a reconnect finds the ones it missed. It goes out before the
                // submits that waited for `hello`, and remembers how many submits preceded
                // it, so the answer is never mistaken as missing a job sent after it.
                k.list_marks.push_back(k.sends);
                out.push(Effect::Send {
                    kernel_id: kernel_id.to_owned(),
                    message: ClientMsg::List,
                });
                self.send_unsent(kernel_id, &mut out);
            }
            KernelMsg::Queued(q) => match self.key(kernel_id, &q.head.job_id) {
                Some(key) => self.on_queued(&key, q, &mut out),
                None => {
                    let mut job = self.adopted(kernel_id, q.head, q.after, now);
                    job.state = JobState::Queued;
                    job.place.target = q.target;
                    job.source_hash = q.source_hash;
                    self.adopt(job, &mut out);
                }
            },
            KernelMsg::Started(st) => match self.key(kernel_id, &st.head.job_id) {
                Some(key) => self.on_started(&key, st, now, &mut out),
                None => {
                    let mut job = self.adopted(kernel_id, st.head, st.after, now);
                    job.source_hash = st.source_hash;
                    if st.place.target == Target::Dask {
                        // Accepted by Dask; running only once a worker has it.
                        job.clocks.started_at =
                            st.place.worker.is_some().then(|| st.started_at.min(now));
                        if job.clocks.started_at.is_none() {
                            job.state = JobState::Queued;
                        }
                        job.place = st.place;
                    } else {
                        job.clocks.started_at = Some(now);
                        job.place.dashboard = st.place.dashboard;
                    }
                    self.adopt(job, &mut out);
                }
            },
            KernelMsg::Placed(Placed {
                job_id,
                worker,
                started_at,
            }) => {
                if let Some(key) = self.key(kernel_id, &job_id) {
                    self.on_placed(&key, worker, started_at, now, &mut out);
                }
            }
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
                }
            }
            KernelMsg::Cleared(Cleared { job_ids }) => {
                self.on_cleared(kernel_id, &job_ids, &mut out);
            }
            KernelMsg::Text(JobText { job_id, text, last }) => {
                if let Some(job) = self.key(kernel_id, &job_id).and_then(|k| self.jobs.get(&k)) {
                    out.push(Effect::OutputText {
                        job_id: job.id.clone(),
                        num: job.num,
                        notebook: job.from.notebook.clone(),
                        text,
                        last,
                    });
                }
            }
            KernelMsg::LogTrimmed(LogTrimmed { job_id, reason }) => {
                if let Some(job) = self
                    .key(kernel_id, &job_id)
                    .and_then(|k| self.jobs.get_mut(&k))
                {
                    if job.log_trimmed.as_ref() != Some(&reason) {
                        job.log_trimmed = Some(reason);
                        out.push(Effect::RowChanged {
                            job_id: job.id.clone(),
                        });
                    }
                }
            }
            KernelMsg::Threads(Threads { job_id, running }) => {
                if let Some(job) = self
                    .key(kernel_id, &job_id)
                    .and_then(|k| self.jobs.get_mut(&k))
                {
                    if job.threads != running {
                        job.threads = running;
                        out.push(Effect::RowChanged {
                            job_id: job.id.clone(),
                        });
                    }
                }
            }
            KernelMsg::Conflict(c) => self.on_conflict(kernel_id, c, &mut out),
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

    /// The kernel took the job in line: it stays `queued`, and now has its number.
    fn on_queued(&mut self, key: &str, q: Queued, out: &mut Vec<Effect>) {
        let Some(job) = self.jobs.get_mut(key) else {
            return;
        };
        job.sent = true;
        if job.source_hash.is_none() {
            job.source_hash = q.source_hash;
        }
        if q.target == Target::Dask {
            job.place.target = Target::Dask;
        }
        let first = job.num.is_none();
        job.num = Some(q.head.num);
        out.push(Effect::RowChanged {
            job_id: key.to_owned(),
        });
        if first {
            self.touch_dependents(key, out);
        }
    }

    fn on_started(&mut self, key: &str, st: Started, now: f64, out: &mut Vec<Effect>) {
        let Some(job) = self.jobs.get_mut(key) else {
            return;
        };
        let first = job.num.is_none();
        job.num = Some(st.head.num);
        // Started without our submit (another tab sent it), or after it: the kernel has it.
        job.sent = true;
        if first {
            self.touch_dependents(key, out);
        }
        let Some(job) = self.jobs.get_mut(key) else {
            return;
        };
        if job.state.is_finished() {
            return; // a late `started`: the job already ended
        }
        if st.place.target == Target::Dask {
            job.place.target = Target::Dask;
        }
        if st.place.dashboard.is_some() {
            job.place.dashboard = st.place.dashboard;
        }
        if job.place.target == Target::Dask {
            match st.place.worker {
                Some(worker) => self.on_placed(key, worker, st.started_at, now, out),
                None => out.push(Effect::RowChanged {
                    job_id: key.to_owned(),
                }),
            }
            return;
        }
        job.clocks.started_at.get_or_insert(now);
        if job.state == JobState::Queued {
            self.transition(key, JobState::Running, now, out);
        }
        out.push(Effect::RowChanged {
            job_id: key.to_owned(),
        });
    }

    /// A Dask job's task started on `worker` at `at` (kernel clock): it runs from then.
    fn on_placed(&mut self, key: &str, worker: String, at: f64, now: f64, out: &mut Vec<Effect>) {
        let Some(job) = self.jobs.get_mut(key) else {
            return;
        };
        if job.state.is_finished() || job.place.target != Target::Dask {
            return;
        }
        job.place.worker = Some(worker);
        job.sent = true;
        // The kernel's clock; on one machine it agrees with ours.
        job.clocks.started_at.get_or_insert(at.min(now));
        if job.state == JobState::Queued {
            self.transition(key, JobState::Running, now, out);
        }
        out.push(Effect::RowChanged {
            job_id: key.to_owned(),
        });
    }

    /// A cell rebinds names a job uses: mark both jobs' rows (the one stepped on, and the
    /// job that steps, when it is one) and tell the person once.
    fn on_conflict(&mut self, kernel_id: &str, c: Conflict, out: &mut Vec<Effect>) {
        let Some(key) = self.key(kernel_id, &c.job_id) else {
            return;
        };
        let by = c.by.and_then(|b| self.key(kernel_id, &b));
        let mut by_words = None;
        if let Some(other) = by.as_ref().and_then(|b| self.jobs.get_mut(b)) {
            if other.add_conflicts(&c.names) {
                out.push(Effect::RowChanged {
                    job_id: other.id.clone(),
                });
            }
            by_words = Some(other.describe(&self.text));
        }
        let Some(job) = self.jobs.get_mut(&key) else {
            return;
        };
        if job.add_conflicts(&c.names) {
            out.push(Effect::RowChanged {
                job_id: key.clone(),
            });
        }
        out.push(Effect::Conflict {
            job: job.describe(&self.text),
            job_id: key,
            names: c.names,
            by: by_words,
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
