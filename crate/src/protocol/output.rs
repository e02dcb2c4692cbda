//! nbformat outputs, as a job's cell receives them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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

/// What a rich output shows: one value per mime type, and their metadata (nbformat's
/// "mime bundle", shared by `display_data`, `execute_result` and `update_display_data`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MimeBundle {
    /// mime type → value.
    pub data: Map<String, Value>,
    /// Per-mime metadata.
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

/// `display(...)`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DisplayData {
    /// What it shows (its fields stand beside the others on the wire).
    #[serde(flatten)]
    pub bundle: MimeBundle,
    /// `{"display_id": …}` when the display can be updated later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transient: Option<Value>,
}

/// The value of the cell's last expression.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExecuteResult {
    /// What it shows (its fields stand beside the others on the wire).
    #[serde(flatten)]
    pub bundle: MimeBundle,
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
    /// What it shows (its fields stand beside the others on the wire).
    #[serde(flatten)]
    pub bundle: MimeBundle,
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
