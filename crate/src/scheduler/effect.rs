//! What the scheduler asks the outside world to do.

use serde::Serialize;

use crate::protocol::{ClientMsg, JobState, Origin, Output};

/// One effect. Serialized (tagged by `kind`) for the variants JavaScript receives; the
/// `Row*` variants stay inside the crate and drive the panel.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Effect {
    /// Send `message` to the runtime in kernel `kernel_id`.
    Send {
        /// The kernel.
        kernel_id: String,
        /// The message, exactly as on the wire.
        message: ClientMsg,
    },
    /// Append outputs to the job's cell.
    Outputs {
        /// The job.
        job_id: String,
        /// Its kernel.
        kernel_id: String,
        /// Its notebook (`null` for some kernel-originated jobs).
        notebook: Option<String>,
        /// Its cell (`null` for some kernel-originated jobs).
        cell_id: Option<String>,
        /// nbformat outputs, in order, duplicates removed.
        outputs: Vec<Output>,
        /// How far the cell must hold the job's outputs for these to follow on: up to the
        /// first of them, or to before a gap the core accepted (a trimmed log, a hold that
        /// gave up). A cell that holds less lacks outputs sent earlier: it must not take
        /// these (that would mark the earlier ones as there) but ask for a replay from its
        /// mark. After a reload this happens: the kernel's `jobs` answer and the job's next
        /// outputs can arrive in one message, before the page has asked for the outputs
        /// its cell lacks; the replay then brings these again.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        from: u64,
        /// The seq the job's next output will have: the cell is up to date until there
        /// (worth keeping in the cell's metadata, for `replay` after a reload).
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        next_seq: u64,
    },
    /// Reconciling found a job this page did not know (a reload, another tab, `%job`).
    /// Its outputs before `next_seq` are taken as already in its cell; when the cell lacks
    /// some (the `next_seq` last kept from `outputs` is lower, or none: a job that ended
    /// while no page was open), `Core.replay(job_id, seq)` asks for them again, unless it
    /// is `superseded`.
    Adopted {
        /// The job (the key `replay`, `kill` and `data-job-id` use).
        job_id: String,
        /// The kernel's id for it (differs from `job_id` only when another kernel's job
        /// has that id).
        wire_id: String,
        /// Its kernel.
        kernel_id: String,
        /// Its notebook (`null` for some kernel-originated jobs).
        notebook: Option<String>,
        /// Its cell (`null` for some kernel-originated jobs).
        cell_id: Option<String>,
        /// The seq the kernel's next output of the job will have.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        next_seq: u64,
        /// Its state in the kernel.
        state: JobState,
        /// Who started it: a `kernel` job (`%job`, `map`) came from a foreground run of
        /// its cell, whose own outputs stay.
        origin: Origin,
        /// Its cell was run again since: its outputs no longer belong there.
        superseded: bool,
        /// The hash of its code (`Core.source_hash`), to find its cell when the notebook's
        /// cells got new ids; `null` when unknown.
        source_hash: Option<String>,
    },
    /// The state of the job attached to a cell changed (`data-parallel-cell-state`);
    /// `state` is `null` when the finished job was cleared from the panel and the cell
    /// carries no job any more. (`null` rather than an effect of its own: 19 B less gzipped
    /// wasm, measured.)
    CellState {
        /// The job.
        job_id: String,
        /// Its notebook.
        notebook: Option<String>,
        /// Its cell.
        cell_id: Option<String>,
        /// The new state; `null`: the cell has no job any more (cleared).
        state: Option<JobState>,
    },
    /// A job ended (done, error, killed or lost): tell the person.
    Notify {
        /// The job.
        job_id: String,
        /// Its notebook.
        notebook: Option<String>,
        /// Its cell.
        cell_id: Option<String>,
        /// How it ended.
        state: JobState,
        /// Its title (the code's first line).
        title: String,
    },
    /// A cell about to run rebinds names a running or queued job uses: warn the person,
    /// with a way to the job's row.
    Conflict {
        /// The job whose names were stepped on.
        job_id: String,
        /// It, in words (`#3 for url in urls:`).
        job: String,
        /// The names.
        names: Vec<String>,
        /// The job that rebinds them, in words; `null`: a foreground cell.
        by: Option<String>,
    },
    /// A part of a job's logged text, asked for by [`Scheduler::save_output`]: gather the
    /// parts until `last`, then save them to a file.
    ///
    /// [`Scheduler::save_output`]: super::Scheduler::save_output
    OutputText {
        /// The job.
        job_id: String,
        /// Its number in its kernel, when known.
        #[cfg_attr(feature = "ts", ts(type = "number | null"))]
        num: Option<u64>,
        /// Its notebook.
        notebook: Option<String>,
        /// The text (kernel text: a file's content, never markup).
        text: String,
        /// No part follows.
        last: bool,
    },
    /// Show the cell a job came from.
    GotoCell {
        /// The notebook.
        notebook: Option<String>,
        /// The cell.
        cell_id: Option<String>,
    },
    /// A Dask job did not stop when asked: ask the person whether its worker may be
    /// restarted (every other task on that worker is lost with it); if so, call
    /// `Core.restart_worker(job_id)`.
    ConfirmRestart {
        /// The job.
        job_id: String,
        /// The worker's address (kernel text).
        worker: String,
    },
    /// Something the person should see went wrong (bad message, kernel `error`).
    Problem {
        /// What happened.
        message: String,
    },
    /// A job already known changed: its panel row, if drawn, must be redrawn (a new job's
    /// row is drawn by the panel's flush, which follows every batch of effects).
    #[serde(skip)]
    RowChanged {
        /// The job.
        job_id: String,
    },
    /// The job's panel row must go.
    #[serde(skip)]
    RowRemoved {
        /// The job.
        job_id: String,
    },
}

impl Effect {
    /// Whether the effect is for the panel only (never handed to JavaScript).
    pub fn is_panel_only(&self) -> bool {
        matches!(self, Effect::RowChanged { .. } | Effect::RowRemoved { .. })
    }
}
