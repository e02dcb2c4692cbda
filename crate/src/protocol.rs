//! The wire format between the frontend and the kernel runtime, defined once.
//!
//! Every message travels as the `data` of a Jupyter comm message and is a JSON object
//! tagged by `"type"` (see `docs/protocol.md`; `tests/golden/` holds one example of each).
//! Unknown fields are ignored; anything else that does not fit is a typed [`Error`].

use serde::{Deserialize, Serialize};

mod decode;
mod output;
mod read;

pub use decode::{is_valid_id, truncate};
pub use output::*;

/// The protocol version this core speaks; the frontend sends it when it opens the comm.
pub const PROTOCOL_VERSION: u32 = 1;

/// The comm target name; the major version is part of it.
pub const COMM_TARGET: &str = "parallel_cell.v1";

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
    /// Waiting: for a free slot under the cap, for the kernel's `hello`, for `started`, or
    /// (a Dask job) for a worker.
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

fn is_false(b: &bool) -> bool {
    !*b
}

/// An exception that ended a job.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorInfo {
    /// The exception's class name.
    pub ename: String,
    /// The exception's message.
    pub evalue: String,
    /// The formatted traceback, one entry per block, with ANSI colours.
    pub traceback: Vec<String>,
}

/// A message from the frontend to the kernel runtime.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Run `code` in a background thread now.
    Submit {
        /// Chosen by the frontend.
        job_id: String,
        /// The cell the code came from.
        cell_id: String,
        /// The notebook's path.
        notebook: String,
        /// The cell's source.
        code: String,
        /// Where to run it; left out for a thread (`null` or missing: a thread).
        #[serde(
            default,
            skip_serializing_if = "Target::is_thread",
            deserialize_with = "decode::target_or_thread"
        )]
        target: Target,
    },
    /// Stop the job (the kernel escalates).
    Kill {
        /// The job to stop.
        job_id: String,
        /// The person confirmed that the Dask worker running the job may be restarted;
        /// left out when `false`.
        #[serde(default, skip_serializing_if = "is_false")]
        restart_worker: bool,
    },
    /// Ask for every job the kernel knows (answered by `jobs`).
    List,
    /// Resend the job's logged outputs with `seq >= since`.
    Replay {
        /// The job.
        job_id: String,
        /// The first seq wanted.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        since: u64,
    },
    /// The user's settings for this kernel's runtime; sent after `hello` and whenever
    /// they change. The kernel answers only when a value is refused (`error`).
    Configure {
        /// Outputs kept per job for `replay` (older ones give way to a visible marker).
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        log_limit: u64,
        /// How long a kill may go untaken before the kernel looks for why it is stuck.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        kill_grace_ms: u64,
        /// Whether `time.sleep` and waits inside job threads end at once on a kill.
        interruptible_sleep: bool,
        /// The Dask scheduler's address; `""` or `null`: a `LocalCluster` started in the
        /// kernel on first use. Missing: leave it as it is.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "decode::present"
        )]
        #[cfg_attr(feature = "ts", ts(optional, type = "string | null"))]
        cluster: Option<Option<String>>,
    },
}

/// What the kernel knows about one job (an entry of `jobs`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JobInfo {
    /// The job's id.
    pub job_id: String,
    /// The small per-kernel job number.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub num: u64,
    /// The cell it came from (`null` for kernel-originated jobs).
    pub cell_id: Option<String>,
    /// The notebook it came from (`null` for kernel-originated jobs).
    pub notebook: Option<String>,
    /// Its state.
    pub state: JobState,
    /// When its thread started (kernel clock, ms).
    pub started_at: Option<f64>,
    /// When it ended (kernel clock, ms).
    pub ended_at: Option<f64>,
    /// The seq its next output will get.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub next_seq: u64,
    /// The exception that ended it.
    pub error: Option<ErrorInfo>,
    /// Global names it bound.
    pub assigned: Vec<String>,
    /// Who started it.
    pub origin: Origin,
    /// Where it runs (missing or `null`: a thread).
    #[serde(
        default,
        skip_serializing_if = "Target::is_thread",
        deserialize_with = "decode::target_or_thread"
    )]
    pub target: Target,
    /// The Dask worker running it (`null`: not placed on a worker yet, or a thread).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// The Dask cluster's dashboard URL, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<String>,
}

/// The answer to the comm opening.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Hello {
    /// The protocol version the runtime speaks.
    pub protocol: u32,
    /// The runtime's version.
    pub runtime: String,
    /// The kernel's Python version.
    pub python: String,
    /// The kernel's ipykernel version.
    pub ipykernel: String,
    /// The Python implementation's shell (`ipython`).
    pub implementation: String,
}

/// The job runs: a thread started, or a Dask task was accepted (it runs once `worker` is
/// set, by this message or a later `placed`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Started {
    /// The job.
    pub job_id: String,
    /// The small per-kernel job number.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub num: u64,
    /// The cell (`null` for kernel-originated jobs).
    pub cell_id: Option<String>,
    /// The notebook (`null` for kernel-originated jobs).
    pub notebook: Option<String>,
    /// Kernel clock, ms.
    pub started_at: f64,
    /// Who started it.
    pub origin: Origin,
    /// Where it runs (missing or `null`: a thread).
    #[serde(
        default,
        skip_serializing_if = "Target::is_thread",
        deserialize_with = "decode::target_or_thread"
    )]
    pub target: Target,
    /// The Dask worker running it (`null`: not placed on a worker yet, or a thread).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// The Dask cluster's dashboard URL, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<String>,
}

/// A Dask job's task started on a worker.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Placed {
    /// The job.
    pub job_id: String,
    /// The worker's address.
    pub worker: String,
    /// When the task started (kernel clock, ms).
    pub started_at: f64,
}

/// A batch of outputs; `seq` numbers the first, the rest follow consecutively.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Outputs {
    /// The job.
    pub job_id: String,
    /// The seq of `outputs[0]`.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: u64,
    /// nbformat outputs.
    pub outputs: Vec<Output>,
}

/// A kill is under way but the thread has not ended.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Cancelling {
    /// The job.
    pub job_id: String,
    /// Why it is stuck, when it is.
    pub reason: Option<String>,
}

/// The job's thread has ended.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Finished {
    /// The job.
    pub job_id: String,
    /// `done`, `error` or `killed`.
    pub state: JobState,
    /// Kernel clock, ms.
    pub ended_at: f64,
    /// The exception, for `error`.
    pub error: Option<ErrorInfo>,
    /// Global names the job bound.
    pub assigned: Vec<String>,
}

/// The answer to `list`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JobList {
    /// Every job the kernel knows.
    pub jobs: Vec<JobInfo>,
}

/// A request could not be handled.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KernelError {
    /// What went wrong.
    pub message: String,
    /// The job concerned, if any.
    pub job_id: Option<String>,
}

/// A message from the kernel runtime to the frontend, tagged by `type`.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KernelMsg {
    /// `hello`.
    Hello(Hello),
    /// `started`.
    Started(Started),
    /// `placed`.
    Placed(Placed),
    /// `output`.
    Output(Outputs),
    /// `cancelling`.
    Cancelling(Cancelling),
    /// `finished`.
    Finished(Finished),
    /// `jobs`.
    Jobs(JobList),
    /// `error`.
    Error(KernelError),
}
