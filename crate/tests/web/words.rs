//! Words in a real browser: translations, the names a finished job assigned.

use serde_json::json;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

use super::harness::*;

fn finished_done(id: &str, assigned: &[String]) -> serde_json::Value {
    json!({"type": "finished", "job_id": id, "state": "done", "ended_at": 2.0,
           "error": null, "assigned": assigned})
}

#[wasm_bindgen_test]
fn the_panel_speaks_the_translator_s_words() {
    let h = Harness::new(4.0);
    let strings: Vec<String> = h
        .core
        .strings()
        .iter()
        .filter_map(|s| s.as_string())
        .collect();
    for s in [
        "Kill job",
        "Kill all",
        "{n} queued",
        "queued",
        "Assigned: {names}",
    ] {
        assert!(strings.iter().any(|x| x == s), "{s} is in strings()");
    }
    h.receive(hello());
    h.submit("a", "1");
    let map = js_sys::JSON::parse(
        &json!({
            "Kill job": "Tâche : tuer",
            "Kill all": "Tout tuer",
            "{n} queued": "{n} en attente",
            "queued": "en attente",
            "Show the cell": 42,
        })
        .to_string(),
    )
    .unwrap();
    h.core.set_strings(map);
    // Drawn again in the new words; the attributes tests and styles use stay English.
    let row = h.row("a");
    assert_eq!(
        row.get_attribute("data-job-state").as_deref(),
        Some("queued")
    );
    let kill = h.part("a", ".pc-job-kill");
    assert_eq!(
        kill.get_attribute("aria-label").as_deref(),
        Some("Tâche : tuer")
    );
    assert_eq!(
        h.part("a", "[data-role=\"state\"]")
            .text_content()
            .as_deref(),
        Some("en attente")
    );
    assert_eq!(
        h.part("a", ".pc-job-title")
            .get_attribute("title")
            .as_deref(),
        Some("Show the cell"),
        "not a string: English"
    );
    let text = h.root.text_content().unwrap();
    assert!(text.contains("1 en attente"), "{text}");
    assert!(text.contains("Tout tuer"), "{text}");
    // New rows use them too; odd maps change nothing and throw nothing.
    h.submit("b", "2");
    assert_eq!(
        h.part("b", "[data-role=\"state\"]")
            .text_content()
            .as_deref(),
        Some("en attente")
    );
    h.core.set_strings(JsValue::from(7));
    h.core.set_strings(JsValue::NULL);
    assert_eq!(h.count("li[data-job-id]"), 2);
    assert_eq!(
        h.part("b", "[data-role=\"state\"]")
            .text_content()
            .as_deref(),
        Some("queued"),
        "back to English"
    );
}

#[wasm_bindgen_test]
fn a_finished_row_lists_the_names_it_assigned() {
    let h = Harness::new(4.0);
    h.receive(hello());
    h.submit("a", "a = b = 1; df = 2");
    h.receive(started("a"));
    assert_eq!(h.count("[data-role=\"assigned\"]"), 0, "not while running");
    let names: Vec<String> = ["a", "b", "df"].map(String::from).to_vec();
    h.receive(finished_done("a", &names));
    let assigned = h.part("a", "[data-role=\"assigned\"]");
    assert_eq!(
        assigned.text_content().as_deref(),
        Some("Assigned: a, b, df")
    );
    assert_eq!(assigned.get_attribute("title").as_deref(), Some("a, b, df"));
    // A long list is shortened; the title holds all of it.
    h.submit("many", "...");
    h.receive(started("many"));
    let many: Vec<String> = (0..40).map(|i| format!("variable_{i}")).collect();
    h.receive(finished_done("many", &many));
    let assigned = h.part("many", "[data-role=\"assigned\"]");
    let shown = assigned.text_content().unwrap();
    assert!(
        shown.starts_with("Assigned: variable_0, variable_1"),
        "{shown}"
    );
    assert!(shown.ends_with("+35") || shown.contains(", … +"), "{shown}");
    assert!(shown.chars().count() < 90, "{shown}");
    assert_eq!(assigned.get_attribute("title"), Some(many.join(", ")));
    // Nothing assigned: nothing said.
    h.submit("none", "print(1)");
    h.receive(finished_done("none", &[]));
    assert!(h
        .row("none")
        .query_selector("[data-role=\"assigned\"]")
        .unwrap()
        .is_none());
}
