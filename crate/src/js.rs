//! The one place serde-wasm-bindgen is configured.
//!
//! Out: maps become plain objects (not `Map`s) and `None` becomes `null` (not
//! `undefined`), so effects look exactly like the JSON on the wire. In: any JS value
//! (`Core::receive` checks a kernel message's nesting depth first).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_wasm_bindgen::Serializer;
use wasm_bindgen::JsValue;

use crate::error::{Error, Result};

const SERIALIZER: Serializer = Serializer::new()
    .serialize_maps_as_objects(true)
    .serialize_missing_as_null(true);

/// A Rust value as a plain JS value.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue> {
    value
        .serialize(&SERIALIZER)
        .map_err(|e| Error::Encode(e.to_string()))
}

/// A JS value as a Rust value; anything that does not fit is an [`Error::Decode`].
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T> {
    serde_wasm_bindgen::from_value(value).map_err(|e| Error::Decode(e.to_string()))
}
