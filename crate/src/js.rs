//! The one place values cross between Rust and JavaScript as data, and the one place
//! serde-wasm-bindgen is configured.
//!
//! Out: serde-wasm-bindgen's JSON-compatible [`Serializer`] builds the JS value directly,
//! so effects look exactly like the JSON on the wire (`None` is `null`, maps are plain
//! objects). In: a JS value is walked into a `serde_json::Value`, refusing what JSON cannot
//! hold (BigInt, functions, non-finite numbers) and anything nested deeper than
//! [`MAX_DEPTH`] (which also ends a cycle); `KernelMsg::read` then reads it field by field.
//! (serde-wasm-bindgen's `from_value` would recurse without a depth limit, and measured
//! ~14 KB more gzipped wasm than this walk.)

use serde::Serialize;
use serde_json::{Map, Number, Value};
use serde_wasm_bindgen::Serializer;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Error, Result};
use crate::protocol::MAX_DEPTH;

/// How every Rust value becomes a JS value: as `JSON.parse` would give it back, with
/// `None` as `null` and maps as plain objects.
const SERIALIZER: Serializer = Serializer::json_compatible();

/// A Rust value as a plain JS value.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue> {
    value
        .serialize(&SERIALIZER)
        .map_err(|e| Error::Encode(e.to_string()))
}

/// A JS value as JSON; anything JSON cannot hold is an [`Error::Decode`].
pub fn to_json(value: &JsValue) -> Result<Value> {
    walk(value, 0)
}

fn walk(v: &JsValue, depth: usize) -> Result<Value> {
    if let Some(s) = v.as_string() {
        return Ok(Value::String(s));
    }
    if let Some(n) = v.as_f64() {
        // Whole numbers as integers, as JSON.parse's would be read by serde_json.
        let number = if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 {
            Some(if n < 0.0 {
                Number::from(n as i64)
            } else {
                Number::from(n as u64)
            })
        } else {
            Number::from_f64(n)
        };
        return number
            .map(Value::Number)
            .ok_or_else(|| odd("a number that is not finite"));
    }
    if let Some(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if v.is_null() || v.is_undefined() {
        return Ok(Value::Null);
    }
    if !v.is_object() || v.is_function() {
        return Err(odd("a value JSON cannot hold"));
    }
    if depth >= MAX_DEPTH {
        return Err(Error::Decode(format!(
            "nested deeper than {MAX_DEPTH} levels"
        )));
    }
    if js_sys::Array::is_array(v) {
        let items: &js_sys::Array = v.unchecked_ref();
        return items.iter().map(|item| walk(&item, depth + 1)).collect();
    }
    let mut map = Map::new();
    for entry in js_sys::Object::entries(v.unchecked_ref()).iter() {
        let pair: js_sys::Array = entry.unchecked_into();
        let key = pair.get(0).as_string().unwrap_or_default();
        map.insert(key, walk(&pair.get(1), depth + 1)?);
    }
    Ok(Value::Object(map))
}

fn odd(what: &str) -> Error {
    Error::Decode(format!("not a JSON value: {what}"))
}
