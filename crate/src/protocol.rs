//! The wire format between the frontend and the kernel runtime, defined once.
//!
//! Every message travels as the `data` of a Jupyter comm message and is a JSON object
//! tagged by `"type"` (see `docs/protocol.md`; `tests/golden/` holds one example of each).
//! Unknown fields are ignored; anything else that does not fit is a typed [`Error`].

use serde::{de, Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The protocol version this core speaks; the frontend sends it when it opens the comm.
pub const PROTOCOL_VERSION: u32 = 1;

/// The comm target name; the major version is part of it.
pub const COMM_TARGET: &str = "parallel_cell.v1";

/// The longest id the protocol allows.
pub const MAX_ID_LEN: usize = 64;

/// The deepest nesting of arrays and objects a message may have (serde_json's limit).
pub const MAX_DEPTH: usize = 127;

/// A job's state, as the panel, the cells and the kernel name it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Submitted by this frontend ("Run in Background").
    Frontend,
    /// Started inside the kernel (`%job`, a `map` helper, or code).
    Kernel,
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

/// Which stream a `stream` output was written to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum StreamName {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Text written to stdout or stderr.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Stream {
    /// The stream.
    pub name: StreamName,
    /// The text (may hold `\r`, partial lines and ANSI escapes).
    pub text: String,
}

/// `display(...)`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DisplayData {
    /// mime type → value.
    pub data: Map<String, Value>,
    /// Per-mime metadata.
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// `{"display_id": …}` when the display can be updated later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transient: Option<Value>,
}

/// The value of the cell's last expression.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExecuteResult {
    /// mime type → value.
    pub data: Map<String, Value>,
    /// Per-mime metadata.
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// Always `null` for background jobs (they do not take an execution count).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub execution_count: Option<i64>,
}

/// An exception shown in the cell.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorOutput {
    /// The exception's class name.
    pub ename: String,
    /// The exception's message.
    pub evalue: String,
    /// The formatted traceback, with ANSI colours.
    pub traceback: Vec<String>,
}

/// An update of an earlier `display_data` with the same display id.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdateDisplayData {
    /// mime type → value.
    pub data: Map<String, Value>,
    /// Per-mime metadata.
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// `{"display_id": …}`.
    pub transient: Value,
}

/// Clear the cell's outputs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ClearOutput {
    /// Wait for the next output before clearing.
    pub wait: bool,
}

/// One nbformat 4 output, as it would appear in the cell, tagged by `output_type`. Rich
/// `data`, `metadata` and `transient` are kept as JSON values so they pass through untouched.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "output_type", rename_all = "snake_case")]
pub enum Output {
    /// `stream`.
    Stream(Stream),
    /// `display_data`.
    DisplayData(DisplayData),
    /// `execute_result`.
    ExecuteResult(ExecuteResult),
    /// `error`.
    Error(ErrorOutput),
    /// `update_display_data`.
    UpdateDisplayData(UpdateDisplayData),
    /// `clear_output` (an instruction, as on iopub).
    ClearOutput(ClearOutput),
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
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        since: u64,
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

/// The job's thread runs.
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

// Decoding goes through a `serde_json::Value` and dispatches on the tag by hand. serde's
// derive for internally tagged enums buffers through its private `Content` type, which
// costs ~20 KB of gzipped wasm for these types; this costs a few hundred bytes and gives
// the same results (the golden and fuzz tests hold both to the wire format).
impl<'de> Deserialize<'de> for KernelMsg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let (tag, value) = tagged(value, "type")?;
        let msg = match tag.as_str() {
            "hello" => serde_json::from_value(value).map(KernelMsg::Hello),
            "started" => serde_json::from_value(value).map(KernelMsg::Started),
            "output" => serde_json::from_value(value).map(KernelMsg::Output),
            "cancelling" => serde_json::from_value(value).map(KernelMsg::Cancelling),
            "finished" => serde_json::from_value(value).map(KernelMsg::Finished),
            "jobs" => serde_json::from_value(value).map(KernelMsg::Jobs),
            "error" => serde_json::from_value(value).map(KernelMsg::Error),
            other => {
                return Err(de::Error::unknown_variant(
                    other,
                    &[
                        "hello",
                        "started",
                        "output",
                        "cancelling",
                        "finished",
                        "jobs",
                        "error",
                    ],
                ))
            }
        };
        msg.map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Output {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let (tag, value) = tagged(value, "output_type")?;
        let output = match tag.as_str() {
            "stream" => serde_json::from_value(value).map(Output::Stream),
            "display_data" => serde_json::from_value(value).map(Output::DisplayData),
            "execute_result" => serde_json::from_value(value).map(Output::ExecuteResult),
            "error" => serde_json::from_value(value).map(Output::Error),
            "update_display_data" => serde_json::from_value(value).map(Output::UpdateDisplayData),
            "clear_output" => serde_json::from_value(value).map(Output::ClearOutput),
            other => {
                return Err(de::Error::unknown_variant(
                    other,
                    &[
                        "stream",
                        "display_data",
                        "execute_result",
                        "error",
                        "update_display_data",
                        "clear_output",
                    ],
                ))
            }
        };
        output.map_err(de::Error::custom)
    }
}

/// The string under `key` of an object, and the object.
fn tagged<E: de::Error>(
    value: Value,
    key: &'static str,
) -> std::result::Result<(String, Value), E> {
    let tag = match &value {
        Value::Object(map) => match map.get(key) {
            Some(Value::String(tag)) => tag.clone(),
            Some(_) => return Err(E::custom(format!("`{key}` must be a string"))),
            None => return Err(E::missing_field(key)),
        },
        _ => return Err(E::custom("expected a JSON object")),
    };
    Ok((tag, value))
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
            "{what} must be 1-{MAX_ID_LEN} characters of [A-Za-z0-9_.:-], got \"{}\"",
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

/// Refuse JSON text nested deeper than [`MAX_DEPTH`] (decoding recurses per level).
pub fn check_depth(json: &str) -> Result<()> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for b in json.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Error::Decode(format!(
                        "nested deeper than {MAX_DEPTH} levels"
                    )));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
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
            KernelMsg::Hello(_) => Ok(()),
            KernelMsg::Started(Started {
                job_id, started_at, ..
            }) => {
                check_id("job_id", job_id)?;
                check_time("started_at", *started_at)
            }
            KernelMsg::Output(Outputs { job_id, .. })
            | KernelMsg::Cancelling(Cancelling { job_id, .. }) => check_id("job_id", job_id),
            KernelMsg::Finished(Finished {
                job_id,
                state,
                ended_at,
                ..
            }) => {
                check_id("job_id", job_id)?;
                check_time("ended_at", *ended_at)?;
                match state {
                    JobState::Done | JobState::Error | JobState::Killed => Ok(()),
                    other => Err(Error::Invalid(format!(
                        "finished with state \"{}\"; expected done, error or killed",
                        other.as_str()
                    ))),
                }
            }
            KernelMsg::Jobs(JobList { jobs }) => jobs.iter().try_for_each(|j| {
                check_id("job_id", &j.job_id)?;
                j.started_at
                    .map_or(Ok(()), |t| check_time("started_at", t))?;
                j.ended_at.map_or(Ok(()), |t| check_time("ended_at", t))
            }),
            KernelMsg::Error(KernelError { job_id, .. }) => job_id
                .as_deref()
                .map_or(Ok(()), |id| check_id("job_id", id)),
        }
    }
}
