//! The crate's one error type.

use std::fmt;

/// Everything that can go wrong in the core. Every variant becomes a visible message
/// (a JS `Error` or a `problem` effect); none of them is ever a panic.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A message could not be decoded (bad JSON, wrong tag, missing or mistyped field).
    Decode(String),
    /// A message decoded but breaks a rule of the protocol (bad id, impossible state).
    Invalid(String),
    /// `submit` reused the id of a job that already exists.
    DuplicateJob(String),
    /// `submit_after` named a job this page does not know (never, or no longer: cleared).
    UnknownJob(String),
    /// A value could not be handed to JavaScript.
    Encode(String),
    /// The DOM refused an operation (no document, detached root, …).
    Dom(String),
}

/// The crate's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Decode(m) => write!(f, "could not decode message: {m}"),
            Error::Invalid(m) => write!(f, "invalid message: {m}"),
            Error::DuplicateJob(id) => write!(f, "a job with id \"{id}\" already exists"),
            Error::UnknownJob(id) => write!(f, "no job \"{id}\" to run after"),
            Error::Encode(m) => write!(f, "could not pass a value to JavaScript: {m}"),
            Error::Dom(m) => write!(f, "DOM error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

// So the readers' shared helpers (the tag of a message) can make either error.
impl serde::de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::Decode(msg.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Decode(e.to_string())
    }
}
