//! Messages from the kernel runtime to the frontend, and what they carry.

use serde::{Deserialize, Serialize};

use super::{decode, ErrorInfo, JobState, Origin, Output, Target};

/// The most names one `conflict` (or a job's `conflicts`) may carry.
pub const MAX_CONFLICT_NAMES: usize = 64;

/// Where a job runs, as `started` and `jobs` say it: a thread, or a Dask task and its
/// worker.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Place {
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

/// Where a job came from: its cell, and who started it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Provenance {
    /// The cell it came from (`null` for kernel-originated jobs).
    pub cell_id: Option<String>,
    /// The notebook it came from (`null` for kernel-originated jobs).
    pub notebook: Option<String>,
    /// Who started it.
    pub origin: Origin,
}

/// Which job, and where it came from: what `queued`, `started` and a `jobs` entry all
/// begin with (its fields stand beside theirs on the wire).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JobHead {
    /// The job's id.
    pub job_id: String,
    /// The small per-kernel job number.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub num: u64,
    /// Its code's first non-blank line, shortened (kernel text); `null` for a function
    /// (`map`) or a blank cell. Names the job on a page that never saw its code.
    #[serde(default)]
    pub first_line: Option<String>,
    /// Where it came from.
    #[serde(flatten)]
    pub from: Provenance,
}

/// What the kernel knows about one job (an entry of `jobs`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JobInfo {
    /// Which job, and where it came from.
    #[serde(flatten)]
    pub head: JobHead,
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
    /// Where it runs (its fields stand beside these on the wire).
    #[serde(flatten)]
    pub place: Place,
    /// The job it runs after, if any.
    #[serde(default)]
    pub after: Option<String>,
    /// The hash of its code the frontend sent, if any.
    #[serde(default)]
    pub source_hash: Option<String>,
    /// Its cell was run again since (in the foreground or as a newer job): its outputs no
    /// longer belong in the cell. `false` when missing or `null`.
    #[serde(default, deserialize_with = "decode::flag")]
    pub superseded: bool,
    /// Why its replay log was freed, if it was.
    #[serde(default)]
    pub log_trimmed: Option<String>,
    /// Threads it started that still run after its own code ended (their output still
    /// goes to its cell). 0 when missing.
    #[serde(default, deserialize_with = "decode::count")]
    pub threads: u32,
    /// Names it uses that another cell rebound or deleted while it was running or
    /// queued (see `conflict`). Empty when missing.
    #[serde(default, deserialize_with = "decode::names")]
    pub conflicts: Vec<String>,
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
    /// Which job, and where it came from.
    #[serde(flatten)]
    pub head: JobHead,
    /// Kernel clock, ms.
    pub started_at: f64,
    /// Where it runs (its fields stand beside these on the wire).
    #[serde(flatten)]
    pub place: Place,
    /// The job it ran after, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The hash of its code the frontend sent, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_hash: Option<String>,
}

/// The kernel took a job in line and it waits (for a free slot, or for the job `after`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Queued {
    /// Which job, and where it came from.
    #[serde(flatten)]
    pub head: JobHead,
    /// The job it waits for, if any.
    #[serde(default)]
    pub after: Option<String>,
    /// The hash of its code the frontend sent, if any.
    #[serde(default)]
    pub source_hash: Option<String>,
    /// Where it runs (missing or `null`: a thread).
    #[serde(
        default,
        skip_serializing_if = "Target::is_thread",
        deserialize_with = "decode::target_or_thread"
    )]
    pub target: Target,
}

/// The kernel forgot these ended jobs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Cleared {
    /// The jobs.
    pub job_ids: Vec<String>,
}

/// The replay log of an ended job was freed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LogTrimmed {
    /// The job.
    pub job_id: String,
    /// Why (kernel text, for its row).
    pub reason: String,
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

/// After a job's own code ended: how many threads it started still run. Their output
/// still goes to its cell; 0: the last has ended, and the job takes no more output.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Threads {
    /// The job.
    pub job_id: String,
    /// Threads still running.
    pub running: u32,
}

/// A cell about to run (in the foreground, or another job starting) rebinds or deletes
/// global names this running or queued job reads or assigns.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Conflict {
    /// The job whose names were stepped on.
    pub job_id: String,
    /// The names (at most [`MAX_CONFLICT_NAMES`]).
    pub names: Vec<String>,
    /// The job that rebinds them; `null`: a foreground cell.
    pub by: Option<String>,
}

/// A part of the job's logged stdout/stderr text, asked for by `text`; parts come in
/// order, the last with `last`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JobText {
    /// The job.
    pub job_id: String,
    /// The text (kernel text: a file's content, never markup).
    pub text: String,
    /// No part follows (missing or `null`: `false`).
    #[serde(default, deserialize_with = "decode::flag")]
    pub last: bool,
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
    /// `queued`.
    Queued(Queued),
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
    /// `cleared`.
    Cleared(Cleared),
    /// `log_trimmed`.
    LogTrimmed(LogTrimmed),
    /// `threads`.
    Threads(Threads),
    /// `conflict`.
    Conflict(Conflict),
    /// `text`.
    Text(JobText),
    /// `jobs`.
    Jobs(JobList),
    /// `error`.
    Error(KernelError),
}
