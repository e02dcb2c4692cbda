//! The queue: a cell submitted to run, sent while its kernel is ready and under the cap
//! (FIFO, a job waiting on `after` does not hold up the ones behind it; a Dask job takes no
//! slot and is sent as soon as it may), and the jobs that were to run after one that failed.

use super::{title_of, Effect, Job, Kernel, LastLine, Scheduler};
use crate::error::{Error, Result};
use crate::ids::IdMap;
use crate::protocol::{is_valid_id, ClientMsg, ErrorInfo, JobState, Origin, Target};
use crate::text::{T_DEPENDENCY_FAILED, T_STATE};

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
    /// Where to run it.
    pub target: Target,
}

impl Scheduler {
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
            target: s.target,
            worker: None,
            dashboard: None,
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
            serial: 0,
        };
        let mut out = Vec::new();
        self.insert(job, &mut out);
        let k = self.kernels.entry(s.kernel_id.to_owned()).or_default();
        match s.target {
            Target::Thread => &mut k.queue,
            Target::Dask => &mut k.dask,
        }
        .push_back(s.job_id.to_owned());
        if let (true, Some(dep)) = (dep_failed, s.after) {
            self.fail_dependents(dep, now, &mut out);
        }
        self.pump(s.kernel_id, &mut out);
        Ok(out)
    }

    /// Send queued jobs of `kernel_id` while it is ready: every Dask job (Dask queues them
    /// on the cluster), and thread jobs while under the cap. A job waiting to run after
    /// another waits while that one has not ended (a dependency that failed has failed it
    /// already; one that is gone was cleared after ending `done`).
    pub(super) fn pump(&mut self, kernel_id: &str, out: &mut Vec<Effect>) {
        let Some(k) = self.kernels.get_mut(kernel_id) else {
            return;
        };
        if !k.ready {
            return;
        }
        let mut i = 0;
        while i < k.dask.len() {
            match next(&self.jobs, &k.dask[i]) {
                Next::Gone => drop(k.dask.remove(i)),
                Next::Wait => i += 1,
                Next::Send => {
                    if let Some(key) = k.dask.remove(i) {
                        send(&mut self.jobs, k, kernel_id, key, out);
                    }
                }
            }
        }
        let mut i = 0;
        while k.active.len() < self.cap && i < k.queue.len() {
            match next(&self.jobs, &k.queue[i]) {
                Next::Gone => drop(k.queue.remove(i)),
                Next::Wait => i += 1,
                Next::Send => {
                    if let Some(key) = k.queue.remove(i) {
                        send(&mut self.jobs, k, kernel_id, key, out);
                    }
                }
            }
        }
    }

    /// Job `key` ended without success: the jobs waiting to run after it, and the ones
    /// after those, end as `error` (`DependencyFailed`) unsent.
    pub(super) fn fail_dependents(&mut self, key: &str, now: f64, out: &mut Vec<Effect>) {
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
}

/// What to do with a job in a kernel's queue.
enum Next {
    /// Send it.
    Send,
    /// Leave it: it runs after a job that has not ended.
    Wait,
    /// Take it out: it is gone, sent or ended.
    Gone,
}

fn next(jobs: &IdMap<Job>, key: &str) -> Next {
    match jobs.get(key) {
        Some(j) if j.state == JobState::Queued && !j.sent => {
            let dep = j.after.as_ref().and_then(|d| jobs.get(d));
            if dep.is_some_and(|d| !d.state.is_finished()) {
                Next::Wait
            } else {
                Next::Send
            }
        }
        _ => Next::Gone,
    }
}

/// Send job `key`'s `submit`; a thread job takes a slot.
fn send(
    jobs: &mut IdMap<Job>,
    k: &mut Kernel,
    kernel_id: &str,
    key: String,
    out: &mut Vec<Effect>,
) {
    let Some(job) = jobs.get_mut(&key) else {
        return;
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
            target: job.target,
        },
    });
    if job.target == Target::Thread {
        k.active.insert(key);
    }
}
