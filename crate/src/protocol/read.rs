//! Reading kernel messages out of parsed JSON: the decoder the wasm core uses.
//!
//! Why not serde's derives (a test holds the two together): measured 2026-12, the wasm is
//! 114 KB gzipped through `serde_json::from_value` and 96 KB through a lean `Deserializer`
//! of our own (per-struct `visit_map`s), against 87 KB with this reader (budget 100 KB).
//!
//! Like the derives: unknown fields are ignored, a missing or `null` optional field is
//! `None`, a missing `metadata` is empty, anything else missing or of the wrong type is an
//! [`Error::Decode`] naming the field.

use serde_json::{Map, Value};

use super::*;
use crate::error::{Error, Result};

/// A value read out of a field of a JSON object.
pub(super) trait FromJson: Sized {
    /// The value of field `key`.
    fn from_json(v: Value, key: &str) -> Result<Self>;

    /// The value of field `key` when it is missing: an error, but for an `Option`.
    fn missing(key: &str) -> Result<Self> {
        Err(missing_field(key))
    }
}

fn missing_field(key: &str) -> Error {
    Error::Decode(format!("missing field `{key}`"))
}

fn wrong(key: &str, what: &str) -> Error {
    Error::Decode(format!("`{key}` must be {what}"))
}

/// Scalars and names: how each is read, and what it must be.
macro_rules! scalars {
    ($($ty:ty, $what:literal, $read:expr;)*) => {$(
        impl FromJson for $ty {
            fn from_json(v: Value, key: &str) -> Result<Self> {
                let read: fn(Value) -> Option<Self> = $read;
                read(v).ok_or_else(|| wrong(key, $what))
            }
        }
    )*};
}

scalars! {
    String, "a string", |v| match v { Value::String(s) => Some(s), _ => None };
    u64, "an integer ≥ 0", |v| v.as_u64();
    u32, "an integer from 0 to 4294967295", |v| v.as_u64().and_then(|n| u32::try_from(n).ok());
    i64, "an integer", |v| v.as_i64();
    f64, "a number", |v| v.as_f64();
    bool, "true or false", |v| v.as_bool();
    Value, "a JSON value", Some;
    Map<String, Value>, "an object", |v| match v { Value::Object(m) => Some(m), _ => None };
    JobState, "a job state", |v| named(v, &JobState::ALL.map(|s| (s.as_str(), s)));
    Origin, "\"frontend\" or \"kernel\"",
        |v| named(v, &[("frontend", Origin::Frontend), ("kernel", Origin::Kernel)]);
    Target, "\"thread\" or \"dask\"", |v| v.as_str().and_then(Target::from_name);
    StreamName, "\"stdout\" or \"stderr\"",
        |v| named(v, &[("stdout", StreamName::Stdout), ("stderr", StreamName::Stderr)]);
}

/// The value the string `v` names in `names`.
fn named<T: Copy>(v: Value, names: &[(&str, T)]) -> Option<T> {
    let name = v.as_str()?;
    names.iter().find(|(n, _)| *n == name).map(|&(_, t)| t)
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(v: Value, key: &str) -> Result<Self> {
        match v {
            Value::Null => Ok(None),
            v => T::from_json(v, key).map(Some),
        }
    }

    fn missing(_: &str) -> Result<Self> {
        Ok(None)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: Value, key: &str) -> Result<Self> {
        match v {
            Value::Array(items) => items.into_iter().map(|i| T::from_json(i, key)).collect(),
            _ => Err(wrong(key, "a list")),
        }
    }
}

/// A JSON object whose fields are taken out by name.
struct Fields(Map<String, Value>);

impl Fields {
    fn of(v: Value) -> Result<Fields> {
        match v {
            Value::Object(m) => Ok(Fields(m)),
            _ => Err(Error::Decode("expected a JSON object".into())),
        }
    }

    fn req<T: FromJson>(&mut self, key: &str) -> Result<T> {
        match self.0.remove(key) {
            Some(v) => T::from_json(v, key),
            None => T::missing(key),
        }
    }

    /// The default when missing or `null`.
    fn or_default<T: FromJson + Default>(&mut self, key: &str) -> Result<T> {
        Ok(self.req::<Option<T>>(key)?.unwrap_or_default())
    }

    /// The default when missing (`null` is a wrong type).
    fn if_missing<T: FromJson + Default>(&mut self, key: &str) -> Result<T> {
        self.0
            .remove(key)
            .map_or_else(|| Ok(T::default()), |v| T::from_json(v, key))
    }
}

/// A struct read out of the fields of an object (also one flattened into another's).
trait FromFields: Sized {
    fn take(f: &mut Fields) -> Result<Self>;
}

/// Structs read field by field; a field is required (`Option`s: missing is `None`) unless
/// marked `or_default` (missing or `null`), `if_missing` (missing only) or `flatten` (a
/// struct whose fields stand beside the others, as serde's `flatten`).
macro_rules! objects {
    ($($ty:ident { $($field:ident $(: $how:ident)?),* })*) => {$(
        impl FromFields for $ty {
            // Read in place where used, not moved out of a call: 0.8 KB less gzipped wasm.
            #[inline(always)]
            fn take(f: &mut Fields) -> Result<Self> {
                Ok($ty { $($field: objects!(@ f $field $($how)?)),* })
            }
        }

        impl FromJson for $ty {
            #[inline(always)]
            fn from_json(v: Value, _: &str) -> Result<Self> {
                $ty::take(&mut Fields::of(v)?)
            }
        }
    )*};
    (@ $f:ident $field:ident) => { $f.req(stringify!($field))? };
    (@ $f:ident $field:ident flatten) => { FromFields::take($f)? };
    (@ $f:ident $field:ident $how:ident) => { $f.$how(stringify!($field))? };
}

objects! {
    Hello { protocol, runtime, python, ipykernel, implementation }
    Started { head: flatten, started_at, place: flatten, after, source_hash }
    Queued { head: flatten, after, source_hash, target: or_default }
    Cleared { job_ids }
    LogTrimmed { job_id, reason }
    Threads { job_id, running }
    Conflict { job_id, names, by }
    JobText { job_id, text, last: or_default }
    Placed { job_id, worker, started_at }
    Outputs { job_id, seq, outputs }
    Cancelling { job_id, reason }
    Finished { job_id, state, ended_at, error, assigned }
    JobList { jobs }
    KernelError { message, job_id }
    ErrorInfo { ename, evalue, traceback }
    JobHead { job_id, num, first_line, from: flatten }
    Provenance { cell_id, notebook, origin }
    JobInfo { head: flatten, state, started_at, ended_at, next_seq, error, assigned,
        place: flatten, after, source_hash, superseded: or_default, log_trimmed,
        threads: or_default, conflicts: or_default }
    Place { target: or_default, worker, dashboard }
    Stream { name, text }
    DisplayData { bundle: flatten, transient }
    ExecuteResult { bundle: flatten, execution_count }
    ErrorOutput { ename, evalue, traceback }
    UpdateDisplayData { bundle: flatten, transient }
    ClearOutput { wait }
    MimeBundle { data, metadata: if_missing }
}

// An output in a list of outputs: `Output::read` (`decode.rs` dispatches the tags).
impl FromJson for Output {
    fn from_json(v: Value, _: &str) -> Result<Self> {
        Output::read(v)
    }
}
