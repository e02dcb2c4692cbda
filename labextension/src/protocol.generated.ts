// Generated from crate/src/protocol.rs and crate/src/scheduler/effect.rs by ts-rs.
// Do not edit: change the Rust types, then run
//   PC_UPDATE_TS=1 cargo test -p parallel-cell-core --features ts --test ts_types

/** The protocol version this frontend speaks (sent when the comm opens). */
export const PROTOCOL_VERSION = 2;

/** The comm target name. */
export const COMM_TARGET = 'parallel_cell.v2';

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;

export type JobState = "queued" | "running" | "done" | "error" | "cancelling" | "killed" | "lost";

export type Origin = "frontend" | "kernel";

export type Target = "thread" | "dask";

export type ErrorInfo = { 
/**
 * The exception's class name.
 */
ename: string, 
/**
 * The exception's message.
 */
evalue: string, 
/**
 * The formatted traceback, one entry per block, with ANSI colours.
 */
traceback: Array<string>, };

export type StreamName = "stdout" | "stderr";

export type Stream = { 
/**
 * The stream.
 */
name: StreamName, 
/**
 * The text (may hold `\r`, partial lines and ANSI escapes).
 */
text: string, };

export type DisplayData = { 
/**
 * `{"display_id": …}` when the display can be updated later.
 */
transient?: JsonValue | null, 
/**
 * mime type → value.
 */
data: { [key in string]?: JsonValue }, 
/**
 * Per-mime metadata.
 */
metadata: { [key in string]?: JsonValue }, };

export type ExecuteResult = { 
/**
 * Always `null` for background jobs (they do not take an execution count).
 */
execution_count: number | null, 
/**
 * mime type → value.
 */
data: { [key in string]?: JsonValue }, 
/**
 * Per-mime metadata.
 */
metadata: { [key in string]?: JsonValue }, };

export type ErrorOutput = { 
/**
 * The exception's class name.
 */
ename: string, 
/**
 * The exception's message.
 */
evalue: string, 
/**
 * The formatted traceback, with ANSI colours.
 */
traceback: Array<string>, };

export type UpdateDisplayData = { 
/**
 * `{"display_id": …}`.
 */
transient: JsonValue, 
/**
 * mime type → value.
 */
data: { [key in string]?: JsonValue }, 
/**
 * Per-mime metadata.
 */
metadata: { [key in string]?: JsonValue }, };

export type ClearOutput = { 
/**
 * Wait for the next output before clearing.
 */
wait: boolean, };

export type Output = { "output_type": "stream" } & Stream | { "output_type": "display_data" } & DisplayData | { "output_type": "execute_result" } & ExecuteResult | { "output_type": "error" } & ErrorOutput | { "output_type": "update_display_data" } & UpdateDisplayData | { "output_type": "clear_output" } & ClearOutput;

export type ClientMsg = { "type": "submit", 
/**
 * Chosen by the frontend.
 */
job_id: string, 
/**
 * The cell the code came from.
 */
cell_id: string, 
/**
 * The notebook's path.
 */
notebook: string, 
/**
 * The cell's source.
 */
code: string, 
/**
 * Where to run it; left out for a thread (`null` or missing: a thread).
 */
target?: Target, 
/**
 * Run only once this job (of the same kernel) has ended `done`.
 */
after?: string | null, 
/**
 * A hash of `code` (`Core.source_hash`), kept by the kernel and given back, so a
 * reloaded page can find the job's cell.
 */
source_hash?: string | null, } | { "type": "kill", 
/**
 * The job to stop.
 */
job_id: string, 
/**
 * The person confirmed that the Dask worker running the job may be restarted;
 * left out when `false`.
 */
restart_worker?: boolean, } | { "type": "list" } | { "type": "replay", 
/**
 * The job.
 */
job_id: string, 
/**
 * The first seq wanted.
 */
since: number, } | { "type": "configure", 
/**
 * Outputs kept per job for `replay` (older ones give way to a visible marker).
 */
log_limit: number, 
/**
 * How long a kill may go untaken before the kernel looks for why it is stuck.
 */
kill_grace_ms: number, 
/**
 * Whether `time.sleep` and waits inside job threads end at once on a kill.
 */
interruptible_sleep: boolean, 
/**
 * The Dask scheduler's address; `""` or `null`: a `LocalCluster` started in the
 * kernel on first use. Missing: leave it as it is.
 */
cluster?: string | null, 
/**
 * Thread jobs running at once in this kernel (at least 1); missing: leave it.
 */
cap?: number | null, 
/**
 * Bytes of replay logs kept across all jobs (at least 1); missing: leave it.
 */
log_budget?: number | null, 
/**
 * How long a killed job's cleanup may run before the kill forces it out (ms);
 * missing: leave it.
 */
cleanup_grace_ms?: number | null, 
/**
 * Whether the kernel looks for name conflicts between cells about to run and
 * running or queued jobs (`conflict`); missing: leave it (default on).
 */
warn_conflicts?: boolean | null, } | { "type": "clear", 
/**
 * The jobs.
 */
job_ids: Array<string>, } | { "type": "saved", 
/**
 * The jobs (at most [`MAX_CLEAR`] ids).
 */
job_ids: Array<string>, } | { "type": "text", 
/**
 * The job.
 */
job_id: string, };

export type JobInfo = { 
/**
 * Its state.
 */
state: JobState, 
/**
 * When its thread started (kernel clock, ms).
 */
started_at: number | null, 
/**
 * When it ended (kernel clock, ms).
 */
ended_at: number | null, 
/**
 * The seq its next output will get.
 */
next_seq: number, 
/**
 * The exception that ended it.
 */
error: ErrorInfo | null, 
/**
 * Global names it bound.
 */
assigned: Array<string>, 
/**
 * The job it runs after, if any.
 */
after: string | null, 
/**
 * The hash of its code the frontend sent, if any.
 */
source_hash: string | null, 
/**
 * Its cell was run again since (in the foreground or as a newer job): its outputs no
 * longer belong in the cell. `false` when missing or `null`.
 */
superseded: boolean, 
/**
 * Why its replay log was freed, if it was.
 */
log_trimmed: string | null, 
/**
 * Threads it started that still run after its own code ended (their output still
 * goes to its cell). 0 when missing.
 */
threads: number, 
/**
 * Names it uses that another cell rebound or deleted while it was running or
 * queued (see `conflict`). Empty when missing.
 */
conflicts: Array<string>, 
/**
 * The job's id.
 */
job_id: string, 
/**
 * The small per-kernel job number.
 */
num: number, 
/**
 * Its code's first non-blank line, shortened (kernel text); `null` for a function
 * (`map`) or a blank cell. Names the job on a page that never saw its code.
 */
first_line: string | null, 
/**
 * The cell it came from (`null` for kernel-originated jobs).
 */
cell_id: string | null, 
/**
 * The notebook it came from (`null` for kernel-originated jobs).
 */
notebook: string | null, 
/**
 * Who started it.
 */
origin: Origin, 
/**
 * Where it runs (missing or `null`: a thread).
 */
target?: Target, 
/**
 * The Dask worker running it (`null`: not placed on a worker yet, or a thread).
 */
worker?: string | null, 
/**
 * The Dask cluster's dashboard URL, if any.
 */
dashboard?: string | null, };

export type Hello = { 
/**
 * The protocol version the runtime speaks.
 */
protocol: number, 
/**
 * The runtime's version.
 */
runtime: string, 
/**
 * The kernel's Python version.
 */
python: string, 
/**
 * The kernel's ipykernel version.
 */
ipykernel: string, 
/**
 * The Python implementation's shell (`ipython`).
 */
implementation: string, };

export type Queued = { 
/**
 * The job it waits for, if any.
 */
after: string | null, 
/**
 * The hash of its code the frontend sent, if any.
 */
source_hash: string | null, 
/**
 * Where it runs (missing or `null`: a thread).
 */
target?: Target, 
/**
 * The job's id.
 */
job_id: string, 
/**
 * The small per-kernel job number.
 */
num: number, 
/**
 * Its code's first non-blank line, shortened (kernel text); `null` for a function
 * (`map`) or a blank cell. Names the job on a page that never saw its code.
 */
first_line: string | null, 
/**
 * The cell it came from (`null` for kernel-originated jobs).
 */
cell_id: string | null, 
/**
 * The notebook it came from (`null` for kernel-originated jobs).
 */
notebook: string | null, 
/**
 * Who started it.
 */
origin: Origin, };

export type Started = { 
/**
 * Kernel clock, ms.
 */
started_at: number, 
/**
 * The job it ran after, if any.
 */
after?: string | null, 
/**
 * The hash of its code the frontend sent, if any.
 */
source_hash?: string | null, 
/**
 * The job's id.
 */
job_id: string, 
/**
 * The small per-kernel job number.
 */
num: number, 
/**
 * Its code's first non-blank line, shortened (kernel text); `null` for a function
 * (`map`) or a blank cell. Names the job on a page that never saw its code.
 */
first_line: string | null, 
/**
 * The cell it came from (`null` for kernel-originated jobs).
 */
cell_id: string | null, 
/**
 * The notebook it came from (`null` for kernel-originated jobs).
 */
notebook: string | null, 
/**
 * Who started it.
 */
origin: Origin, 
/**
 * Where it runs (missing or `null`: a thread).
 */
target?: Target, 
/**
 * The Dask worker running it (`null`: not placed on a worker yet, or a thread).
 */
worker?: string | null, 
/**
 * The Dask cluster's dashboard URL, if any.
 */
dashboard?: string | null, };

export type Placed = { 
/**
 * The job.
 */
job_id: string, 
/**
 * The worker's address.
 */
worker: string, 
/**
 * When the task started (kernel clock, ms).
 */
started_at: number, };

export type Outputs = { 
/**
 * The job.
 */
job_id: string, 
/**
 * The seq of `outputs[0]`.
 */
seq: number, 
/**
 * nbformat outputs.
 */
outputs: Array<Output>, };

export type Cancelling = { 
/**
 * The job.
 */
job_id: string, 
/**
 * Why it is stuck, when it is.
 */
reason: string | null, };

export type Finished = { 
/**
 * The job.
 */
job_id: string, 
/**
 * `done`, `error` or `killed`.
 */
state: JobState, 
/**
 * Kernel clock, ms.
 */
ended_at: number, 
/**
 * The exception, for `error`.
 */
error: ErrorInfo | null, 
/**
 * Global names the job bound.
 */
assigned: Array<string>, };

export type Cleared = { 
/**
 * The jobs.
 */
job_ids: Array<string>, };

export type LogTrimmed = { 
/**
 * The job.
 */
job_id: string, 
/**
 * Why (kernel text, for its row).
 */
reason: string, };

export type Threads = { 
/**
 * The job.
 */
job_id: string, 
/**
 * Threads still running.
 */
running: number, };

export type JobText = { 
/**
 * The job.
 */
job_id: string, 
/**
 * The text (kernel text: a file's content, never markup).
 */
text: string, 
/**
 * No part follows (missing or `null`: `false`).
 */
last: boolean, };

export type Conflict = { 
/**
 * The job whose names were stepped on.
 */
job_id: string, 
/**
 * The names (at most [`MAX_CONFLICT_NAMES`]).
 */
names: Array<string>, 
/**
 * The job that rebinds them; `null`: a foreground cell.
 */
by: string | null, };

export type JobList = { 
/**
 * Every job the kernel knows.
 */
jobs: Array<JobInfo>, };

export type KernelError = { 
/**
 * What went wrong.
 */
message: string, 
/**
 * The job concerned, if any.
 */
job_id: string | null, };

export type KernelMsg = { "type": "hello" } & Hello | { "type": "queued" } & Queued | { "type": "started" } & Started | { "type": "placed" } & Placed | { "type": "output" } & Outputs | { "type": "cancelling" } & Cancelling | { "type": "finished" } & Finished | { "type": "cleared" } & Cleared | { "type": "log_trimmed" } & LogTrimmed | { "type": "threads" } & Threads | { "type": "conflict" } & Conflict | { "type": "text" } & JobText | { "type": "jobs" } & JobList | { "type": "error" } & KernelError;

export type Effect = { "kind": "send", 
/**
 * The kernel.
 */
kernel_id: string, 
/**
 * The message, exactly as on the wire.
 */
message: ClientMsg, } | { "kind": "outputs", 
/**
 * The job.
 */
job_id: string, 
/**
 * Its kernel.
 */
kernel_id: string, 
/**
 * Its notebook (`null` for some kernel-originated jobs).
 */
notebook: string | null, 
/**
 * Its cell (`null` for some kernel-originated jobs).
 */
cell_id: string | null, 
/**
 * nbformat outputs, in order, duplicates removed.
 */
outputs: Array<Output>, 
/**
 * How far the cell must hold the job's outputs for these to follow on: up to the
 * first of them, or to before a gap the core accepted (a trimmed log, a hold that
 * gave up). A cell that holds less lacks outputs sent earlier: it must not take
 * these (that would mark the earlier ones as there) but ask for a replay from its
 * mark. After a reload this happens: the kernel's `jobs` answer and the job's next
 * outputs can arrive in one message, before the page has asked for the outputs
 * its cell lacks; the replay then brings these again.
 */
from: number, 
/**
 * The seq the job's next output will have: the cell is up to date until there
 * (worth keeping in the cell's metadata, for `replay` after a reload).
 */
next_seq: number, } | { "kind": "adopted", 
/**
 * The job (the key `replay`, `kill` and `data-job-id` use).
 */
job_id: string, 
/**
 * The kernel's id for it (differs from `job_id` only when another kernel's job
 * has that id).
 */
wire_id: string, 
/**
 * Its kernel.
 */
kernel_id: string, 
/**
 * Its notebook (`null` for some kernel-originated jobs).
 */
notebook: string | null, 
/**
 * Its cell (`null` for some kernel-originated jobs).
 */
cell_id: string | null, 
/**
 * The seq the kernel's next output of the job will have.
 */
next_seq: number, 
/**
 * Its state in the kernel.
 */
state: JobState, 
/**
 * Who started it: a `kernel` job (`%job`, `map`) came from a foreground run of
 * its cell, whose own outputs stay.
 */
origin: Origin, 
/**
 * Its cell was run again since: its outputs no longer belong there.
 */
superseded: boolean, 
/**
 * The hash of its code (`Core.source_hash`), to find its cell when the notebook's
 * cells got new ids; `null` when unknown.
 */
source_hash: string | null, } | { "kind": "cell_state", 
/**
 * The job.
 */
job_id: string, 
/**
 * Its notebook.
 */
notebook: string | null, 
/**
 * Its cell.
 */
cell_id: string | null, 
/**
 * The new state; `null`: the cell has no job any more (cleared).
 */
state: JobState | null, } | { "kind": "notify", 
/**
 * The job.
 */
job_id: string, 
/**
 * Its notebook.
 */
notebook: string | null, 
/**
 * Its cell.
 */
cell_id: string | null, 
/**
 * How it ended.
 */
state: JobState, 
/**
 * Its title (the code's first line).
 */
title: string, } | { "kind": "conflict", 
/**
 * The job whose names were stepped on.
 */
job_id: string, 
/**
 * It, in words (`#3 for url in urls:`).
 */
job: string, 
/**
 * The names.
 */
names: Array<string>, 
/**
 * The job that rebinds them, in words; `null`: a foreground cell.
 */
by: string | null, } | { "kind": "output_text", 
/**
 * The job.
 */
job_id: string, 
/**
 * Its number in its kernel, when known.
 */
num: number | null, 
/**
 * Its notebook.
 */
notebook: string | null, 
/**
 * The text (kernel text: a file's content, never markup).
 */
text: string, 
/**
 * No part follows.
 */
last: boolean, } | { "kind": "goto_cell", 
/**
 * The notebook.
 */
notebook: string | null, 
/**
 * The cell.
 */
cell_id: string | null, } | { "kind": "confirm_restart", 
/**
 * The job.
 */
job_id: string, 
/**
 * The worker's address (kernel text).
 */
worker: string, } | { "kind": "problem", 
/**
 * What happened.
 */
message: string, };
