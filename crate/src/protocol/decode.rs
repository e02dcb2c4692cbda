//! Decoding and checking messages: the tag dispatch, ids, times.

use serde::{de, Deserialize, Deserializer};
use serde_json::Value;

use super::read::FromJson;
use super::{
    Cancelling, Cleared, ClientMsg, Conflict, Finished, JobList, JobState, JobText, KernelError,
    KernelMsg, LogTrimmed, Output, Outputs, Placed, Queued, Started, Target, Threads, MAX_CLEAR,
    MAX_CONFLICT_NAMES, MAX_ID_LEN,
};
use crate::error::{Error, Result};

/// The enums tagged by a field, each tag with its variant, for both readers: `read`, the
/// core's (`read.rs`), and serde's `Deserialize` through the derives, for Rust users and as
/// the reference `read` is tested against. Both go through a `serde_json::Value`: serde's
/// derive for internally tagged enums buffers through its private `Content` type.
macro_rules! tagged_enums {
    ($($ty:ident by $key:literal, $what:literal { $($tag:literal => $variant:ident),* })*) => {$(
        impl $ty {
            /// Read it out of parsed JSON (not validated: see `validate`).
            pub fn read(value: Value) -> Result<Self> {
                let (tag, v) = tagged::<Error>(value, $key)?;
                Ok(match tag.as_str() {
                    $($tag => $ty::$variant(FromJson::from_json(v, $tag)?),)*
                    other => return Err(Error::Decode(format!(
                        concat!("unknown ", $what, " \"{}\""),
                        truncate(other, 40)
                    ))),
                })
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let (tag, v) = tagged(Value::deserialize(d)?, $key)?;
                let read = match tag.as_str() {
                    $($tag => serde_json::from_value(v).map($ty::$variant),)*
                    other => return Err(de::Error::unknown_variant(other, &[$($tag),*])),
                };
                read.map_err(de::Error::custom)
            }
        }
    )*};
}

tagged_enums! {
    KernelMsg by "type", "message type" {
        "hello" => Hello, "queued" => Queued, "started" => Started, "placed" => Placed,
        "output" => Output, "cancelling" => Cancelling, "finished" => Finished,
        "cleared" => Cleared, "log_trimmed" => LogTrimmed, "threads" => Threads,
        "conflict" => Conflict, "text" => Text, "jobs" => Jobs, "error" => Error
    }
    Output by "output_type", "output type" {
        "stream" => Stream, "display_data" => DisplayData, "execute_result" => ExecuteResult,
        "error" => Error, "update_display_data" => UpdateDisplayData,
        "clear_output" => ClearOutput
    }
}

/// A `target` field: `null` is a thread, as a missing one is (the reader says the same).
pub(super) fn target_or_thread<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Target, D::Error> {
    Ok(Option::<Target>::deserialize(d)?.unwrap_or_default())
}

/// A flag that is `false` when missing or `null` (the reader says the same).
pub(super) fn flag<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or_default())
}

/// A count that is 0 when missing or `null` (the reader says the same).
pub(super) fn count<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u32, D::Error> {
    Ok(Option::<u32>::deserialize(d)?.unwrap_or_default())
}

/// A list of names that is empty when missing or `null`.
pub(super) fn names<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// A field whose `null` differs from its absence (`configure`'s `cluster`): present, it is
/// `Some`, even when `null`.
pub(super) fn present<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The string under `key` of an object, and the object.
pub(super) fn tagged<E: de::Error>(
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

fn check_opt_id(what: &str, id: Option<&str>) -> Result<()> {
    id.map_or(Ok(()), |id| check_id(what, id))
}

fn check_ids(ids: &[String]) -> Result<()> {
    if ids.len() > MAX_CLEAR {
        return Err(Error::Invalid(format!(
            "job_ids must list at most {MAX_CLEAR} ids"
        )));
    }
    ids.iter().try_for_each(|id| check_id("job_ids", id))
}

/// Python names: at most [`MAX_CONFLICT_NAMES`], each 1-100 characters, no spaces or
/// control characters (Python allows non-ASCII letters).
fn check_names(names: &[String]) -> Result<()> {
    if names.len() > MAX_CONFLICT_NAMES {
        return Err(Error::Invalid(format!(
            "names must list at most {MAX_CONFLICT_NAMES} names"
        )));
    }
    match names.iter().find(|n| {
        n.is_empty()
            || n.chars().count() > 100
            || n.chars().any(|c| c.is_whitespace() || c.is_control())
    }) {
        Some(bad) => Err(Error::Invalid(format!(
            "names must be Python names, got \"{}\"",
            truncate(bad, 80)
        ))),
        None => Ok(()),
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
        msg.validate().map(|()| msg)
    }

    /// Check the rules serde cannot express.
    pub fn validate(&self) -> Result<()> {
        match self {
            ClientMsg::Submit {
                job_id,
                cell_id,
                after,
                source_hash,
                ..
            } => {
                check_id("job_id", job_id)?;
                check_id("cell_id", cell_id)?;
                check_opt_id("after", after.as_deref())?;
                check_opt_id("source_hash", source_hash.as_deref())
            }
            ClientMsg::Kill { job_id, .. }
            | ClientMsg::Replay { job_id, .. }
            | ClientMsg::Text { job_id } => check_id("job_id", job_id),
            ClientMsg::Configure {
                cap, log_budget, ..
            } => {
                if *cap == Some(0) || *log_budget == Some(0) {
                    return Err(Error::Invalid(
                        "cap and log_budget must be at least 1".into(),
                    ));
                }
                Ok(())
            }
            ClientMsg::Clear { job_ids } | ClientMsg::Saved { job_ids } => check_ids(job_ids),
            ClientMsg::List => Ok(()),
        }
    }
}

impl KernelMsg {
    /// Decode and validate a message from JSON text (with [`KernelMsg::read`], as the
    /// wasm core does).
    pub fn from_json(text: &str) -> Result<Self> {
        let msg = Self::read(serde_json::from_str(text)?)?;
        msg.validate().map(|()| msg)
    }

    /// Check the rules serde cannot express: id syntax, finite times, final states.
    pub fn validate(&self) -> Result<()> {
        match self {
            KernelMsg::Hello(_) => Ok(()),
            KernelMsg::Started(Started {
                head,
                started_at,
                after,
                ..
            }) => {
                check_id("job_id", &head.job_id)?;
                check_opt_id("after", after.as_deref())?;
                check_time("started_at", *started_at)
            }
            KernelMsg::Queued(Queued { head, after, .. }) => {
                check_id("job_id", &head.job_id)?;
                check_opt_id("after", after.as_deref())
            }
            KernelMsg::Cleared(Cleared { job_ids }) => check_ids(job_ids),
            KernelMsg::LogTrimmed(LogTrimmed { job_id, .. }) => check_id("job_id", job_id),
            KernelMsg::Placed(Placed {
                job_id, started_at, ..
            }) => {
                check_id("job_id", job_id)?;
                check_time("started_at", *started_at)
            }
            KernelMsg::Output(Outputs { job_id, .. })
            | KernelMsg::Cancelling(Cancelling { job_id, .. })
            | KernelMsg::Threads(Threads { job_id, .. })
            | KernelMsg::Text(JobText { job_id, .. }) => check_id("job_id", job_id),
            KernelMsg::Conflict(Conflict { job_id, names, by }) => {
                check_id("job_id", job_id)?;
                check_opt_id("by", by.as_deref())?;
                check_names(names)
            }
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
                check_id("job_id", &j.head.job_id)?;
                check_opt_id("after", j.after.as_deref())?;
                check_names(&j.conflicts)?;
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
