//! Catching up with what a kernel really runs, from its answer to `list`.
//!
//! The scheduler asks for the list when a kernel says `hello` (a fresh page, a reconnect).
//! Jobs the kernel knows and this frontend does not are adopted with the kernel's state
//! (queued ones too, with the job they wait for); jobs this frontend sent before asking and
//! the kernel no longer knows are `lost`.

use super::{Effect, Scheduler};
use crate::ids::IdSet;
use crate::protocol::{JobInfo, JobState, Target};

impl Scheduler {
    pub(super) fn reconcile(
        &mut self,
        kernel_id: &str,
        infos: Vec<JobInfo>,
        now: f64,
        out: &mut Vec<Effect>,
    ) {
        let mut listed = IdSet::default();
        for info in infos {
            let key = match self.key(kernel_id, &info.head.job_id) {
                Some(key) => {
                    self.catch_up(&key, &info, now, out);
                    key
                }
                None => {
                    // The list is by `num`: a job's dependency is adopted before it.
                    let mut job = self.adopted(kernel_id, info.head, info.after, now);
                    let key = job.id.clone();
                    job.state = info.state;
                    // The kernel's clock; on one machine it agrees with ours.
                    job.clocks.started_at = info.started_at.map(|t| t.min(now));
                    job.clocks.ended_at = job
                        .state
                        .is_finished()
                        .then(|| info.ended_at.map_or(now, |t| t.min(now)));
                    // Its outputs so far are already in the saved cell: do not replay them.
                    job.next_seq = info.next_seq;
                    job.cell_seq = info.next_seq;
                    job.error = info.error;
                    job.assigned = info.assigned;
                    job.place = info.place;
                    job.source_hash = info.source_hash;
                    job.superseded = info.superseded;
                    job.log_trimmed = info.log_trimmed;
                    job.threads = info.threads;
                    job.conflicts = info.conflicts;
                    out.push(Effect::Adopted {
                        job_id: key.clone(),
                        wire_id: job.wire_id.clone(),
                        kernel_id: kernel_id.to_owned(),
                        notebook: job.from.notebook.clone(),
                        cell_id: job.from.cell_id.clone(),
                        next_seq: info.next_seq,
                        state: job.state,
                        origin: job.from.origin,
                        superseded: job.superseded,
                        source_hash: job.source_hash.clone(),
                    });
                    self.adopt(job, out);
                    key
                }
            };
            listed.insert(key);
        }

        // Only jobs sent before the `list` went out can be missing from its answer; an
        // answer nobody asked for marks nothing.
        let Some(mark) = self
            .kernels
            .get_mut(kernel_id)
            .and_then(|k| k.list_marks.pop_front())
        else {
            return;
        };
        let vanished: Vec<String> = self
            .jobs()
            .filter(|j| {
                j.kernel_id == kernel_id
                    && j.sent
                    && !j.state.is_finished()
                    && !listed.contains(&j.id)
                    && j.send_no < mark
            })
            .map(|j| j.id.clone())
            .collect();
        for key in vanished {
            self.transition(&key, JobState::Lost, now, out);
        }
    }

    /// Bring a known job up to what the kernel says about it.
    fn catch_up(&mut self, key: &str, info: &JobInfo, now: f64, out: &mut Vec<Effect>) {
        let Some(job) = self.jobs.get_mut(key) else {
            return;
        };
        let first = job.num.is_none();
        job.num = Some(info.head.num);
        job.superseded = info.superseded;
        let threads_changed = job.threads != info.threads;
        job.threads = info.threads;
        let conflicts_changed = job.add_conflicts(&info.conflicts);
        if threads_changed
            || conflicts_changed
            || (info.log_trimmed.is_some() && job.log_trimmed != info.log_trimmed)
        {
            if info.log_trimmed.is_some() {
                job.log_trimmed.clone_from(&info.log_trimmed);
            }
            out.push(Effect::RowChanged {
                job_id: key.to_owned(),
            });
        }
        if job.source_hash.is_none() {
            job.source_hash.clone_from(&info.source_hash);
        }
        if first {
            self.touch_dependents(key, out);
        }
        let Some(job) = self.jobs.get_mut(key) else {
            return;
        };
        if job.state.is_finished() {
            // A replay asked for before the job ended, its answer lost in a drop: again.
            if job.hold.is_some() {
                let since = job.next_seq;
                if since < info.next_seq {
                    self.start_replay(key, since, info.next_seq, out);
                } else {
                    self.release(key, out);
                }
            }
            return;
        }
        if info.place.target == Target::Dask {
            job.place.target = Target::Dask;
        }
        if info.place.worker.is_some() {
            job.place.worker.clone_from(&info.place.worker);
        }
        if info.place.dashboard.is_some() {
            job.place.dashboard.clone_from(&info.place.dashboard);
        }
        let dask = job.place.target == Target::Dask;
        job.sent = true;
        // Outputs sent while we were not listening: ask for them again.
        let since = job.next_seq;
        self.start_replay(key, since, info.next_seq, out);
        let Some(job) = self.jobs.get_mut(key) else {
            return;
        };
        match info.state {
            s if s.is_finished() => {
                job.error = info.error.clone();
                job.assigned = info.assigned.clone();
                job.cancel_reason = None;
                job.clocks.started_at.get_or_insert(now);
                self.transition(key, s, now, out);
            }
            JobState::Running if job.state == JobState::Queued => {
                // A Dask job runs from when a worker took it (the kernel's clock).
                let at = match (dask, info.started_at) {
                    (true, Some(t)) => t.min(now),
                    _ => now,
                };
                job.clocks.started_at.get_or_insert(at);
                self.transition(key, JobState::Running, now, out);
            }
            JobState::Cancelling => self.transition(key, JobState::Cancelling, now, out),
            _ => {}
        }
    }
}
