//! Messages from the frontend to the kernel runtime.

use serde::{Deserialize, Serialize};

use super::{decode, Target};

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
    /// Run `code` in the background: the kernel takes it in line (its queue, its cap).
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
        /// Run only once this job (of the same kernel) has ended `done`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        /// A hash of `code` (`Core.source_hash`), kept by the kernel and given back, so a
        /// reloaded page can find the job's cell.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source_hash: Option<String>,
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
        /// Thread jobs running at once in this kernel (at least 1); missing: leave it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cap: Option<u32>,
        /// Bytes of replay logs kept across all jobs (at least 1); missing: leave it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(type = "number | null"))]
        log_budget: Option<u64>,
        /// How long a killed job's cleanup may run before the kill forces it out (ms);
        /// missing: leave it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(type = "number | null"))]
        cleanup_grace_ms: Option<u64>,
        /// Whether the kernel looks for name conflicts between cells about to run and
        /// running or queued jobs (`conflict`); missing: leave it (default on).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warn_conflicts: Option<bool>,
    },
    /// Forget these ended jobs (at most [`MAX_CLEAR`] ids); answered by `cleared`.
    Clear {
        /// The jobs.
        job_ids: Vec<String>,
    },
    /// These ended jobs' outputs are all in their notebook (sent by the server extension
    /// after it wrote them while no page held the notebook): the kernel frees their
    /// replay logs first when its logs exceed their budget. Never answered.
    Saved {
        /// The jobs (at most [`MAX_CLEAR`] ids).
        job_ids: Vec<String>,
    },
    /// Send the job's stdout/stderr text its replay log holds (to save it to a file);
    /// answered by `text` messages, the last with `last: true`.
    Text {
        /// The job.
        job_id: String,
    },
}

/// The most ids one `clear` may carry.
pub const MAX_CLEAR: usize = 10_000;
