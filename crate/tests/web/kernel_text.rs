//! Kernel text in the panel, in a real browser: tracebacks as text with colour spans,
//! and markup or script in any kernel string kept inert.

use serde_json::json;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

use super::harness::*;

#[wasm_bindgen_test]
fn traceback_is_text_with_colour_spans() {
    let h = Harness::new();
    h.receive(hello());
    h.submit("a", "1/0");
    h.receive(finished_error(
        "a",
        &[
            "\u{1b}[0;31m----\u{1b}[0m",
            "\u{1b}[0;31mZeroDivisionError\u{1b}[0m: division by zero",
        ],
    ));
    assert_eq!(
        h.row("a").get_attribute("data-job-state").as_deref(),
        Some("error")
    );
    let tb = h.part("a", "[data-role=\"traceback\"]");
    let text = tb.text_content().unwrap();
    assert_eq!(text, "----\nZeroDivisionError: division by zero");
    assert_eq!(
        tb.query_selector_all("span.pc-ansi-red-fg")
            .unwrap()
            .length(),
        2
    );
    let summary = h.part("a", "summary");
    assert_eq!(
        summary.text_content().as_deref(),
        Some("ZeroDivisionError: division by zero")
    );
    // Collapsed until asked for, and it opens without any script of ours.
    let details = h.part("a", "details");
    assert!(!details.has_attribute("open"));
    summary.dyn_into::<HtmlElement>().unwrap().click();
    assert!(details.has_attribute("open"));
}

#[wasm_bindgen_test]
fn kernel_text_stays_inert() {
    let h = Harness::new();
    h.receive(hello());
    let evil = "<script>window.__pc_pwned = 1</script><img src=x onerror=\"window.__pc_pwned=1\">";
    h.submit("a", evil);
    h.receive(started("a"));
    h.receive(json!({"type": "output", "job_id": "a", "seq": 0,
                     "outputs": [{"output_type": "stream", "name": "stderr", "text": evil}]}));
    h.receive(finished_error("a", &[evil]));
    h.receive(json!({"type": "started", "job_id": "k9", "num": 9, "cell_id": null,
                     "notebook": "<b>nb</b><img src=y onerror=alert(1)>", "started_at": 1.0, "origin": "kernel"}));
    for tag in ["script", "img", "b"] {
        assert_eq!(
            h.count(tag),
            0,
            "a <{tag}> element was created from kernel text"
        );
    }
    assert_eq!(
        h.part("a", ".pc-job-title").text_content().as_deref(),
        Some(evil)
    );
    assert_eq!(
        h.part("a", "[data-role=\"last-line\"]")
            .text_content()
            .as_deref(),
        Some(evil)
    );
    assert_eq!(
        h.part("a", "[data-role=\"traceback\"]")
            .text_content()
            .as_deref(),
        Some(evil)
    );
    let pwned = js_sys::Reflect::get(&js_sys::global(), &"__pc_pwned".into()).unwrap();
    assert!(pwned.is_undefined());
}
