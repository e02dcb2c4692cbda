//! The wire format between the frontend and the kernel runtime, defined once.
//!
//! Every message travels as the `data` of a Jupyter comm message and is a JSON object
//! tagged by `"type"` (see `docs/protocol.md`; `tests/golden/` holds one example of each).
//! Unknown fields are ignored; anything else that does not fit is a typed [`Error`].

use serde::{Deserialize, Serialize};

mod client;
mod decode;
mod kernel;
mod output;
mod read;

pub use client::*;
pub use decode::{is_valid_id, truncate};
pub use kernel::*;
pub use output::*;

/// The protocol version this core speaks; the frontend sends it when it opens the comm.
pub const PROTOCOL_VERSION: u32 = 2;

/// The comm target name; the major version is part of it.
pub const COMM_TARGET: &str = "parallel_cell.v2";

/// The longest id the protocol allows.
pub const MAX_ID_LEN: usize = 64;

/// The deepest nesting of arrays and objects a message may have (serde_json's limit).
pub const MAX_DEPTH: usize = 127;

/// A job's state, as the panel, the cells and the kernel name it. Declared in the order of
/// [`JobState::ALL`], so `state as usize` is its index there.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting: in the kernel's queue (for a free slot under its cap, or for the job it runs
    /// after), for the kernel's `hello`, for `started`, or (a Dask job) for a worker.
    Queued,
    /// The job's thread runs in the kernel.
    Running,
    /// Ended normally.
    Done,
    /// Ended with an exception.
    Error,
    /// A kill was asked for; the thread has not ended yet.
    Cancelling,
    /// Ended because it was killed.
    Killed,
    /// The kernel went away (restart, death, reload) before the job ended.
    Lost,
}

impl JobState {
    /// Every state, in the order the docs list them (`state as usize` indexes it).
    pub const ALL: [JobState; 7] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Error,
        JobState::Cancelling,
        JobState::Killed,
        JobState::Lost,
    ];

    /// The state's wire name (also the value of `data-job-state`).
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Error => "error",
            JobState::Cancelling => "cancelling",
            JobState::Killed => "killed",
            JobState::Lost => "lost",
        }
    }

    /// Whether the job has ended for good.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Error | JobState::Killed | JobState::Lost
        )
    }
}

/// Who started a job.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Submitted by this frontend ("Run in Background").
    Frontend,
    /// Started inside the kernel (`%job`, a `map` helper, or code).
    Kernel,
}

/// Where a job runs.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// A thread in the kernel (under the concurrency cap).
    #[default]
    Thread,
    /// A task on a Dask cluster (Dask queues it; no cap).
    Dask,
}

impl Target {
    /// Whether it is the default, [`Target::Thread`] (then it is left out of messages).
    pub fn is_thread(&self) -> bool {
        *self == Target::Thread
    }

    /// The target named `name` (`"thread"` or `"dask"`).
    pub fn from_name(name: &str) -> Option<Target> {
        match name {
            "thread" => Some(Target::Thread),
            "dask" => Some(Target::Dask),
            _ => None,
        }
    }
}
