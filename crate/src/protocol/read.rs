//! Reading kernel messages out of parsed JSON, field by field.
//!
//! This is the decoder the wasm core uses. serde's derives reading from a
//! `serde_json::Value` would give the same results (a test holds the two together on the
//! property test's messages), but their error messages format the value that did not fit,
//! floats included, which pulls Rust's float printing into the wasm: ~10 KB gzipped for
//! an error message. Reading by hand costs a fraction of that and says what was expected.
//!
//! Like the derives: unknown fields are ignored, a missing or `null` optional field is
//! `None`, a missing `metadata` is empty, anything else missing or of the wrong type is an
//! [`Error::Decode`] naming the field.

use serde_json::{Map, Value};

use super::*;
use crate::error::{Error, Result};

/// A JSON object whose fields are taken out by name.
struct Fields(Map<String, Value>);

fn object(v: Value) -> Result<Fields> {
    match v {
        Value::Object(m) => Ok(Fields(m)),
        _ => Err(Error::Decode("expected a JSON object".into())),
    }
}

fn wrong(key: &str, what: &str) -> Error {
    Error::Decode(format!("`{key}` must be {what}"))
}

impl Fields {
    /// The field's value; `None` when it is missing or `null`.
    fn opt(&mut self, key: &str) -> Option<Value> {
        self.0.remove(key).filter(|v| !v.is_null())
    }

    fn req(&mut self, key: &str) -> Result<Value> {
        self.0
            .remove(key)
            .ok_or_else(|| Error::Decode(format!("missing field `{key}`")))
    }

    fn string(&mut self, key: &str) -> Result<String> {
        as_string(self.req(key)?, key)
    }

    fn opt_string(&mut self, key: &str) -> Result<Option<String>> {
        self.opt(key).map(|v| as_string(v, key)).transpose()
    }

    fn u64(&mut self, key: &str) -> Result<u64> {
        self.req(key)?
            .as_u64()
            .ok_or_else(|| wrong(key, "an integer ≥ 0"))
    }

    fn u32(&mut self, key: &str) -> Result<u32> {
        self.req(key)?
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| wrong(key, "an integer from 0 to 4294967295"))
    }

    /// A count that is 0 when missing or `null`.
    fn count(&mut self, key: &str) -> Result<u32> {
        match self.opt(key) {
            None => Ok(0),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| wrong(key, "an integer from 0 to 4294967295")),
        }
    }

    fn f64(&mut self, key: &str) -> Result<f64> {
        as_f64(self.req(key)?, key)
    }

    /// `false` when missing or `null`.
    fn flag(&mut self, key: &str) -> Result<bool> {
        self.opt(key).map_or(Ok(false), |v| {
            v.as_bool().ok_or_else(|| wrong(key, "true or false"))
        })
    }

    fn opt_f64(&mut self, key: &str) -> Result<Option<f64>> {
        self.opt(key).map(|v| as_f64(v, key)).transpose()
    }

    fn map(&mut self, key: &str) -> Result<Map<String, Value>> {
        as_map(self.req(key)?, key)
    }

    /// `metadata`: empty when missing.
    fn metadata(&mut self) -> Result<Map<String, Value>> {
        match self.0.remove("metadata") {
            None => Ok(Map::new()),
            Some(v) => as_map(v, "metadata"),
        }
    }

    fn strings(&mut self, key: &str) -> Result<Vec<String>> {
        list(self.req(key)?, key, |v| as_string(v, key))
    }

    /// Empty when missing or `null`.
    fn opt_strings(&mut self, key: &str) -> Result<Vec<String>> {
        self.opt(key)
            .map_or(Ok(Vec::new()), |v| list(v, key, |v| as_string(v, key)))
    }

    fn state(&mut self, key: &str) -> Result<JobState> {
        let s = self.string(key)?;
        JobState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| wrong(key, "a job state"))
    }

    fn origin(&mut self) -> Result<Origin> {
        match self.string("origin")?.as_str() {
            "frontend" => Ok(Origin::Frontend),
            "kernel" => Ok(Origin::Kernel),
            _ => Err(wrong("origin", "\"frontend\" or \"kernel\"")),
        }
    }

    /// `target`: a thread when missing or `null`.
    fn target(&mut self) -> Result<Target> {
        match self.opt("target") {
            None => Ok(Target::Thread),
            Some(v) => as_string(v, "target").and_then(|s| {
                Target::from_name(&s).ok_or_else(|| wrong("target", "\"thread\" or \"dask\""))
            }),
        }
    }

    fn error(&mut self) -> Result<Option<ErrorInfo>> {
        self.opt("error")
            .map(|v| {
                let mut f = object(v)?;
                Ok(ErrorInfo {
                    ename: f.string("ename")?,
                    evalue: f.string("evalue")?,
                    traceback: f.strings("traceback")?,
                })
            })
            .transpose()
    }
}

fn as_string(v: Value, key: &str) -> Result<String> {
    match v {
        Value::String(s) => Ok(s),
        _ => Err(wrong(key, "a string")),
    }
}

fn as_f64(v: Value, key: &str) -> Result<f64> {
    v.as_f64().ok_or_else(|| wrong(key, "a number"))
}

fn as_map(v: Value, key: &str) -> Result<Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(wrong(key, "an object")),
    }
}

fn list<T>(v: Value, key: &str, item: impl FnMut(Value) -> Result<T>) -> Result<Vec<T>> {
    match v {
        Value::Array(items) => items.into_iter().map(item).collect(),
        _ => Err(wrong(key, "a list")),
    }
}

impl KernelMsg {
    /// Read a message out of parsed JSON (not validated: see [`KernelMsg::validate`]).
    pub fn read(value: Value) -> Result<Self> {
        let mut f = object(value)?;
        let tag = f.string("type")?;
        Ok(match tag.as_str() {
            "hello" => KernelMsg::Hello(Hello {
                protocol: u32::try_from(f.u64("protocol")?)
                    .map_err(|_| wrong("protocol", "a version number"))?,
                runtime: f.string("runtime")?,
                python: f.string("python")?,
                ipykernel: f.string("ipykernel")?,
                implementation: f.string("implementation")?,
            }),
            "started" => KernelMsg::Started(Started {
                job_id: f.string("job_id")?,
                num: f.u64("num")?,
                cell_id: f.opt_string("cell_id")?,
                notebook: f.opt_string("notebook")?,
                started_at: f.f64("started_at")?,
                origin: f.origin()?,
                target: f.target()?,
                worker: f.opt_string("worker")?,
                dashboard: f.opt_string("dashboard")?,
                after: f.opt_string("after")?,
                source_hash: f.opt_string("source_hash")?,
            }),
            "queued" => KernelMsg::Queued(Queued {
                job_id: f.string("job_id")?,
                num: f.u64("num")?,
                cell_id: f.opt_string("cell_id")?,
                notebook: f.opt_string("notebook")?,
                origin: f.origin()?,
                after: f.opt_string("after")?,
                source_hash: f.opt_string("source_hash")?,
                target: f.target()?,
            }),
            "cleared" => KernelMsg::Cleared(Cleared {
                job_ids: f.strings("job_ids")?,
            }),
            "log_trimmed" => KernelMsg::LogTrimmed(LogTrimmed {
                job_id: f.string("job_id")?,
                reason: f.string("reason")?,
            }),
            "threads" => KernelMsg::Threads(Threads {
                job_id: f.string("job_id")?,
                running: f.u32("running")?,
            }),
            "conflict" => KernelMsg::Conflict(Conflict {
                job_id: f.string("job_id")?,
                names: f.strings("names")?,
                by: f.opt_string("by")?,
            }),
            "placed" => KernelMsg::Placed(Placed {
                job_id: f.string("job_id")?,
                worker: f.string("worker")?,
                started_at: f.f64("started_at")?,
            }),
            "output" => KernelMsg::Output(Outputs {
                job_id: f.string("job_id")?,
                seq: f.u64("seq")?,
                outputs: list(f.req("outputs")?, "outputs", Output::read)?,
            }),
            "cancelling" => KernelMsg::Cancelling(Cancelling {
                job_id: f.string("job_id")?,
                reason: f.opt_string("reason")?,
            }),
            "finished" => KernelMsg::Finished(Finished {
                job_id: f.string("job_id")?,
                state: f.state("state")?,
                ended_at: f.f64("ended_at")?,
                error: f.error()?,
                assigned: f.strings("assigned")?,
            }),
            "text" => KernelMsg::Text(JobText {
                job_id: f.string("job_id")?,
                text: f.string("text")?,
                last: f.flag("last")?,
            }),
            "jobs" => KernelMsg::Jobs(JobList {
                jobs: list(f.req("jobs")?, "jobs", JobInfo::read)?,
            }),
            "error" => KernelMsg::Error(KernelError {
                message: f.string("message")?,
                job_id: f.opt_string("job_id")?,
            }),
            other => {
                return Err(Error::Decode(format!(
                    "unknown message type \"{}\"",
                    truncate(other, 40)
                )))
            }
        })
    }
}

impl JobInfo {
    fn read(value: Value) -> Result<Self> {
        let mut f = object(value)?;
        Ok(JobInfo {
            job_id: f.string("job_id")?,
            num: f.u64("num")?,
            cell_id: f.opt_string("cell_id")?,
            notebook: f.opt_string("notebook")?,
            state: f.state("state")?,
            started_at: f.opt_f64("started_at")?,
            ended_at: f.opt_f64("ended_at")?,
            next_seq: f.u64("next_seq")?,
            error: f.error()?,
            assigned: f.strings("assigned")?,
            origin: f.origin()?,
            target: f.target()?,
            worker: f.opt_string("worker")?,
            dashboard: f.opt_string("dashboard")?,
            after: f.opt_string("after")?,
            source_hash: f.opt_string("source_hash")?,
            superseded: f.flag("superseded")?,
            log_trimmed: f.opt_string("log_trimmed")?,
            threads: f.count("threads")?,
            conflicts: f.opt_strings("conflicts")?,
        })
    }
}

impl Output {
    /// Read an nbformat output out of parsed JSON.
    pub fn read(value: Value) -> Result<Self> {
        let mut f = object(value)?;
        let tag = f.string("output_type")?;
        Ok(match tag.as_str() {
            "stream" => Output::Stream(Stream {
                name: match f.string("name")?.as_str() {
                    "stdout" => StreamName::Stdout,
                    "stderr" => StreamName::Stderr,
                    _ => return Err(wrong("name", "\"stdout\" or \"stderr\"")),
                },
                text: f.string("text")?,
            }),
            "display_data" => Output::DisplayData(DisplayData {
                data: f.map("data")?,
                metadata: f.metadata()?,
                transient: f.opt("transient"),
            }),
            "execute_result" => Output::ExecuteResult(ExecuteResult {
                data: f.map("data")?,
                metadata: f.metadata()?,
                execution_count: f
                    .opt("execution_count")
                    .map(|v| {
                        v.as_i64()
                            .ok_or_else(|| wrong("execution_count", "an integer"))
                    })
                    .transpose()?,
            }),
            "error" => Output::Error(ErrorOutput {
                ename: f.string("ename")?,
                evalue: f.string("evalue")?,
                traceback: f.strings("traceback")?,
            }),
            "update_display_data" => Output::UpdateDisplayData(UpdateDisplayData {
                data: f.map("data")?,
                metadata: f.metadata()?,
                transient: f.req("transient")?,
            }),
            "clear_output" => Output::ClearOutput(ClearOutput {
                wait: f
                    .req("wait")?
                    .as_bool()
                    .ok_or_else(|| wrong("wait", "true or false"))?,
            }),
            other => {
                return Err(Error::Decode(format!(
                    "unknown output type \"{}\"",
                    truncate(other, 40)
                )))
            }
        })
    }
}
