//! What a queued job waits for, as its panel row says it.

use super::{Job, Scheduler, Title};
use crate::protocol::{JobState, Target};

/// What a queued job waits for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Waiting<'a> {
    /// The job it runs after, which this page knows: its number (once the kernel gave it)
    /// and its title.
    Job {
        /// The kernel's number for it.
        num: Option<u64>,
        /// Its title.
        title: &'a Title,
    },
    /// The job it runs after, which this page does not know.
    OtherJob,
    /// A free slot under the kernel's cap (a thread job).
    Slot,
}

impl Scheduler {
    /// What `job` waits for while it is `queued`; `None` when it is not queued, or it is a
    /// Dask job waiting for a worker (its row says so where it says where it runs).
    pub fn waiting<'a>(&'a self, job: &Job) -> Option<Waiting<'a>> {
        if job.state != JobState::Queued {
            return None;
        }
        let dep = job
            .after
            .as_ref()
            .map(|key| self.jobs.get(key).filter(|d| d.kernel_id == job.kernel_id));
        match dep {
            Some(Some(d)) if !d.state.is_finished() => Some(Waiting::Job {
                num: d.num,
                title: &d.title,
            }),
            Some(None) => Some(Waiting::OtherJob),
            _ => (job.place.target == Target::Thread).then_some(Waiting::Slot),
        }
    }
}
