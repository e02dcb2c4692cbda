//! Submitting: a cell to run goes to the kernel at once, with the job it runs after and a
//! hash of its code; the kernel owns the queue (its cap, its order, the dependencies).
//! Before the kernel's `hello` the submits wait here, in arrival order (a transport wait
//! only). A job never sent that is killed ends here, and so do the unsent jobs after it.

use super::{title_of, Effect, Job, Kernel, Scheduler};
use crate::error::{Error, Result};
use crate::ids::IdMap;
use crate::protocol::{is_valid_id, ClientMsg, ErrorInfo, JobState, Origin, Provenance, Target};
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

/// The hash of a cell's source the kernel keeps with its job: FNV-1a (64 bits) over the
/// UTF-8 bytes, as 16 lowercase hex digits. Not for security: it finds a job's cell again
/// in a reloaded notebook whose cells have no stored ids.
pub fn source_hash(code: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in code.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

impl Scheduler {
    /// Take a cell to run in the background: its `submit` goes out at once when the
    /// kernel is ready, else on its `hello`.
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
        // A dependency the kernel never had (never sent, or lost with its kernel) that
        // ended badly: this job can never run, and the kernel need not hear of it.
        let doomed = match s.after.map(|d| (d, self.jobs.get(d))) {
            None => false,
            Some((d, None)) => return Err(Error::UnknownJob(d.to_owned())),
            Some((d, Some(dep))) if dep.kernel_id != s.kernel_id => {
                return Err(Error::Invalid(format!(
                    "job \"{d}\" runs in another kernel; a job can only run after one of its own kernel"
                )))
            }
            Some((_, Some(dep))) => {
                dep.state.is_finished()
                    && dep.state != JobState::Done
                    && (!dep.sent || dep.state == JobState::Lost)
            }
        };
        // Fields set after one constructor: measured +47 B of gzipped wasm against two full
        // literals (this and `adopted`'s), +365 B as `Job { .., ..Job::new(..) }`.
        let mut job = Job::new(
            s.job_id.to_owned(),
            s.job_id.to_owned(),
            s.kernel_id,
            title_of(s.code),
            Provenance {
                cell_id: Some(s.cell_id.to_owned()),
                notebook: Some(s.notebook.to_owned()),
                origin: Origin::Frontend,
            },
            now,
        );
        job.code = Some(s.code.to_owned());
        job.place.target = s.target;
        job.after = s.after.map(str::to_owned);
        job.source_hash = Some(source_hash(s.code));
        let mut out = Vec::new();
        self.insert(job, &mut out);
        if let (true, Some(dep)) = (doomed, s.after) {
            self.fail_unsent_dependents(dep, now, &mut out);
            return Ok(out);
        }
        let k = self.kernels.entry(s.kernel_id.to_owned()).or_default();
        if k.ready {
            send(&mut self.jobs, k, s.kernel_id, s.job_id, &mut out);
        } else {
            k.unsent.push_back(s.job_id.to_owned());
        }
        Ok(out)
    }

    /// The kernel is ready: send what waited for it, in arrival order.
    pub(super) fn send_unsent(&mut self, kernel_id: &str, out: &mut Vec<Effect>) {
        let Some(k) = self.kernels.get_mut(kernel_id) else {
            return;
        };
        while let Some(key) = k.unsent.pop_front() {
            send(&mut self.jobs, k, kernel_id, &key, out);
        }
    }

    /// Job `key` ended without success: the jobs waiting to run after it that were never
    /// sent (so the kernel cannot fail them), and the ones after those, end as `error`
    /// (`DependencyFailed`) here. Sent ones are the kernel's to end.
    pub(super) fn fail_unsent_dependents(&mut self, key: &str, now: f64, out: &mut Vec<Effect>) {
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
                .dependents_of(&dep)
                .filter(|j| !j.state.is_finished() && !j.sent)
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

/// Send job `key`'s `submit`, if it still waits to be sent.
fn send(jobs: &mut IdMap<Job>, k: &mut Kernel, kernel_id: &str, key: &str, out: &mut Vec<Effect>) {
    // The kernel knows the job it runs after by the kernel's id.
    let after = match jobs.get(key) {
        Some(j) if j.state == JobState::Queued && !j.sent => j
            .after
            .as_ref()
            .map(|d| jobs.get(d).map_or_else(|| d.clone(), |d| d.wire_id.clone())),
        _ => return,
    };
    let Some(job) = jobs.get_mut(key) else {
        return;
    };
    job.sent = true;
    job.send_no = k.sends;
    k.sends += 1;
    out.push(Effect::Send {
        kernel_id: kernel_id.to_owned(),
        message: ClientMsg::Submit {
            job_id: job.wire_id.clone(),
            cell_id: job.from.cell_id.clone().unwrap_or_default(),
            notebook: job.from.notebook.clone().unwrap_or_default(),
            code: job.code.take().unwrap_or_default(),
            target: job.place.target,
            after,
            source_hash: job.source_hash.clone(),
        },
    });
}

#[cfg(test)]
mod tests {
    use super::source_hash;

    #[test]
    fn fnv1a_64_test_vectors() {
        assert_eq!(source_hash(""), "cbf29ce484222325");
        assert_eq!(source_hash("a"), "af63dc4c8601ec8c");
        assert_eq!(source_hash("foobar"), "85944171f73967e8");
        assert_eq!(source_hash("é").len(), 16);
    }
}
