//! The wire format between the frontend and the kernel runtime, defined once.
//!
//! Every message travels as the `data` of a Jupyter comm message and is a JSON object
//! tagged by `"type"` (see `docs/protocol.md`; `tests/golden/` holds one example of each).
//! Unknown fields are ignored; anything else that does not fit is a typed [`Error`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The protocol version this core speaks; the frontend sends it when it opens the comm.
pub const PROTOCOL_VERSION: u32 = 1;

/// The comm target name; the major version is part of it.
pub const COMM_TARGET: &str = "parallel_cell.v1";

/// The longest id the protocol allows.
pub const MAX_ID_LEN: usize = 64;

/// A job's state, as the panel, the cells and the kernel name it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting: for a free slot under the cap, for the kernel's `hello`, or for `started`.
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
    /// Every state, in the order the docs list them.
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
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Submitted by this frontend ("Run in Background").
    Frontend,
    /// Started inside the kernel (`%job`, a `map` helper, or code).
    Kernel,
}

/// An exception that ended a job.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ErrorInfo {
    /// The exception's class name.
    pub ename: String,
    /// The exception's message.
    pub evalue: String,
    /// The formatted traceback, one entry per block, with ANSI colours.
    pub traceback: Vec<String>,
}

/// Which stream a `stream` output was written to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StreamName {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One nbformat 4 output, as it would appear in the cell. Rich `data`, `metadata` and
/// `transient` are kept as JSON values so they pass through untouched.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "output_type", rename_all = "snake_case")]
pub enum Output {
    /// Text written to stdout or stderr.
    Stream {
        /// The stream.
        name: StreamName,
        /// The text (may hold `\r`, partial lines and ANSI escapes).
        text: String,
    },
    /// `display(...)`.
    DisplayData {
        /// mime type → value.
        data: Map<String, Value>,
        /// Per-mime metadata.
        #[serde(default)]
        metadata: Map<String, Value>,
        /// `{"display_id": …}` when the display can be updated later.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transient: Option<Value>,
    },
    /// The value of the cell's last expression.
    ExecuteResult {
        /// mime type → value.
        data: Map<String, Value>,
        /// Per-mime metadata.
        #[serde(default)]
        metadata: Map<String, Value>,
        /// Always `null` for background jobs (they do not take an execution count).
        #[serde(default)]
        execution_count: Option<i64>,
    },
    /// An exception shown in the cell.
    Error {
        /// The exception's class name.
        ename: String,
        /// The exception's message.
        evalue: String,
        /// The formatted traceback, with ANSI colours.
        traceback: Vec<String>,
    },
    /// An update of an earlier `display_data` with the same display id.
    UpdateDisplayData {
        /// mime type → value.
        data: Map<String, Value>,
        /// Per-mime metadata.
        #[serde(default)]
        metadata: Map<String, Value>,
        /// `{"display_id": …}`.
        transient: Value,
    },
    /// Clear the cell's outputs (`wait`: when the next output arrives).
    ClearOutput {
        /// Wait for the next output before clearing.
        wait: bool,
    },
}

/// A message from the frontend to the kernel runtime.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
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
    },
    /// Stop the job (the kernel escalates).
    Kill {
        /// The job to stop.
        job_id: String,
    },
    /// Ask for every job the kernel knows (answered by `jobs`).
    List,
    /// Resend the job's logged outputs with `seq >= since`.
    Replay {
        /// The job.
        job_id: String,
        /// The first seq wanted.
        since: u64,
    },
}

/// What the kernel knows about one job (an entry of `jobs`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct JobInfo {
    /// The job's id.
    pub job_id: String,
    /// The small per-kernel job number.
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
    pub next_seq: u64,
    /// The exception that ended it.
    pub error: Option<ErrorInfo>,
    /// Global names it bound.
    pub assigned: Vec<String>,
    /// Who started it.
    pub origin: Origin,
}

/// A message from the kernel runtime to the frontend.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KernelMsg {
    /// The answer to the comm opening.
    Hello {
        /// The protocol version the runtime speaks.
        protocol: u32,
        /// The runtime's version.
        runtime: String,
        /// The kernel's Python version.
        python: String,
        /// The kernel's ipykernel version.
        ipykernel: String,
        /// The Python implementation's shell (`ipython`).
        implementation: String,
    },
    /// The job's thread runs.
    Started {
        /// The job.
        job_id: String,
        /// The small per-kernel job number.
        num: u64,
        /// The cell (`null` for kernel-originated jobs).
        cell_id: Option<String>,
        /// The notebook (`null` for kernel-originated jobs).
        notebook: Option<String>,
        /// Kernel clock, ms.
        started_at: f64,
        /// Who started it.
        origin: Origin,
    },
    /// A batch of outputs; `seq` numbers the first, the rest follow consecutively.
    Output {
        /// The job.
        job_id: String,
        /// The seq of `outputs[0]`.
        seq: u64,
        /// nbformat outputs.
        outputs: Vec<Output>,
    },
    /// A kill is under way but the thread has not ended.
    Cancelling {
        /// The job.
        job_id: String,
        /// Why it is stuck, when it is.
        reason: Option<String>,
    },
    /// The job's thread has ended.
    Finished {
        /// The job.
        job_id: String,
        /// `done`, `error` or `killed`.
        state: JobState,
        /// Kernel clock, ms.
        ended_at: f64,
        /// The exception, for `error`.
        error: Option<ErrorInfo>,
        /// Global names the job bound.
        assigned: Vec<String>,
    },
    /// The answer to `list`.
    Jobs {
        /// Every job the kernel knows.
        jobs: Vec<JobInfo>,
    },
    /// A request could not be handled.
    Error {
        /// What went wrong.
        message: String,
        /// The job concerned, if any.
        job_id: Option<String>,
    },
}

/// Whether `id` is a protocol id: 1–64 characters of `[A-Za-z0-9_.:-]`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

fn check_id(what: &str, id: &str) -> Result<()> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{what} must be 1-{MAX_ID_LEN} characters of [A-Za-z0-9_.:-], got {:?}",
            truncate(id, 80)
        )))
    }
}

fn check_time(what: &str, t: f64) -> Result<()> {
    if t.is_finite() {
        Ok(())
    } else {
        Err(Error::Invalid(format!("{what} must be a finite number")))
    }
}

/// `s` cut to at most `max` characters, for error messages.
pub fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

impl ClientMsg {
    /// Decode and validate a message from JSON text.
    pub fn from_json(text: &str) -> Result<Self> {
        let msg: Self = serde_json::from_str(text)?;
        msg.validate()?;
        Ok(msg)
    }

    /// Check the rules serde cannot express.
    pub fn validate(&self) -> Result<()> {
        match self {
            ClientMsg::Submit {
                job_id, cell_id, ..
            } => {
                check_id("job_id", job_id)?;
                check_id("cell_id", cell_id)
            }
            ClientMsg::Kill { job_id } | ClientMsg::Replay { job_id, .. } => {
                check_id("job_id", job_id)
            }
            ClientMsg::List => Ok(()),
        }
    }
}

impl KernelMsg {
    /// Decode and validate a message from JSON text.
    pub fn from_json(text: &str) -> Result<Self> {
        let msg: Self = serde_json::from_str(text)?;
        msg.validate()?;
        Ok(msg)
    }

    /// Check the rules serde cannot express: id syntax, finite times, final states.
    pub fn validate(&self) -> Result<()> {
        match self {
            KernelMsg::Hello { .. } => Ok(()),
            KernelMsg::Started {
                job_id, started_at, ..
            } => {
                check_id("job_id", job_id)?;
                check_time("started_at", *started_at)
            }
            KernelMsg::Output { job_id, .. } | KernelMsg::Cancelling { job_id, .. } => {
                check_id("job_id", job_id)
            }
            KernelMsg::Finished {
                job_id,
                state,
                ended_at,
                ..
            } => {
                check_id("job_id", job_id)?;
                check_time("ended_at", *ended_at)?;
                match state {
                    JobState::Done | JobState::Error | JobState::Killed => Ok(()),
                    other => Err(Error::Invalid(format!(
                        "finished with state {:?}; expected done, error or killed",
                        other.as_str()
                    ))),
                }
            }
            KernelMsg::Jobs { jobs } => jobs.iter().try_for_each(|j| {
                check_id("job_id", &j.job_id)?;
                j.started_at
                    .map_or(Ok(()), |t| check_time("started_at", t))?;
                j.ended_at.map_or(Ok(()), |t| check_time("ended_at", t))
            }),
            KernelMsg::Error { job_id, .. } => job_id
                .as_deref()
                .map_or(Ok(()), |id| check_id("job_id", id)),
        }
    }
}
