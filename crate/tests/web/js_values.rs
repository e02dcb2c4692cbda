//! JS values into Rust (`js.rs`): a long string is copied by the browser's encoder, with
//! the same text as wasm-bindgen's own copy.

use js_sys::JsString;
use parallel_cell_core::js::text_of;
use wasm_bindgen_test::*;

fn js(text: &str) -> JsString {
    JsString::from(text)
}

#[wasm_bindgen_test]
fn long_and_short_strings_come_across_unchanged() {
    let ascii = "line 0000001 xxxxxxxx\n".repeat(40);
    let mixed = format!("{}é 中文 😀 \u{1b}[31mred\u{1b}[0m\r\n", "a".repeat(300));
    for text in ["", "short", &ascii[..255], &ascii[..256], &ascii, &mixed] {
        assert_eq!(text_of(&js(text)), text, "{} characters", text.len());
    }
}

#[wasm_bindgen_test]
fn a_lone_surrogate_becomes_a_replacement_character_as_before() {
    // 300 ASCII units, a lone high surrogate, then more text: as `as_string` gives it.
    let lone = JsString::from("x".repeat(300)).concat(&JsString::from_char_code1(0xD800));
    let s = lone.concat(&JsString::from("end"));
    let expected = String::from(&s);
    assert_eq!(text_of(&s), expected);
    assert!(expected.ends_with("\u{fffd}end"), "{expected:?}");
}
