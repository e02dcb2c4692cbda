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

use js_sys::{JsString, Uint8Array};
use serde::Serialize;
use serde_json::{Map, Number, Value};
use serde_wasm_bindgen::Serializer;
use wasm_bindgen::prelude::wasm_bindgen;
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
    if let Some(s) = v.dyn_ref::<JsString>() {
        return Ok(Value::String(text_of(s)));
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

/// Strings this long or longer are copied by the browser's own encoder.
const ENCODER_MIN: u32 = 256;

#[wasm_bindgen]
extern "C" {
    /// `TextEncoder`, bound here to take a JS string as it is (web-sys takes a `&str`).
    #[wasm_bindgen(js_name = TextEncoder)]
    type Encoder;
    #[wasm_bindgen(constructor, js_class = "TextEncoder")]
    fn new() -> Encoder;
    /// `encodeInto`: the UTF-8 of `source` written into `dest`; lone surrogates become
    /// U+FFFD, as with `as_string`.
    #[wasm_bindgen(method, js_name = encodeInto)]
    fn encode_into(this: &Encoder, source: &JsString, dest: &Uint8Array) -> Encoded;
    type Encoded;
    #[wasm_bindgen(method, getter)]
    fn written(this: &Encoded) -> f64;
}

thread_local! {
    static ENCODER: Encoder = Encoder::new();
}

/// A JS string as a Rust `String`. wasm-bindgen's `as_string` copies the ASCII part one
/// character at a time in JavaScript (a job printing 20 MB spent ~470 ms of the page's
/// time there); a long string goes through `TextEncoder.encodeInto` instead.
pub fn text_of(s: &JsString) -> String {
    let units = s.length();
    if units < ENCODER_MIN {
        return String::from(s);
    }
    // UTF-16 to UTF-8: at most 3 bytes per code unit.
    let room = units as usize * 3;
    let mut bytes = Vec::<u8>::with_capacity(room);
    // SAFETY: the view covers `bytes`' spare capacity and is used before anything else
    // can allocate (which could move wasm memory); `written` bytes of it are initialised.
    let written = ENCODER.with(|encoder| unsafe {
        let view = Uint8Array::view_mut_raw(bytes.as_mut_ptr(), room);
        encoder.encode_into(s, &view).written()
    });
    // SAFETY: `encodeInto` initialised the first `written` bytes (never more than `room`).
    unsafe { bytes.set_len((written as usize).min(room)) };
    if bytes.capacity() > 2 * bytes.len() {
        bytes.shrink_to_fit();
    }
    String::from_utf8(bytes).unwrap_or_else(|_| String::from(s))
}

fn odd(what: &str) -> Error {
    Error::Decode(format!("not a JSON value: {what}"))
}
