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
    let h = Harness::new();
    let strings = h.strings();
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
    let h = Harness::new();
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

#[wasm_bindgen_test]
fn the_core_s_own_words_are_translated_too() {
    let h = Harness::new();
    let strings = h.strings();
    let own = [
        "(empty cell)",
        "Job {n} (started in the kernel)",
        "A message from the kernel was not understood: {error}",
        "The kernel reported an error about {job}: {message}",
        "{s}s",
        "{m}m {s}s",
        "{h}h {m}m",
    ];
    for s in own {
        assert!(strings.iter().any(|x| x == s), "{s} is in strings()");
    }
    let map = json!({
        "(empty cell)": "(cellule vide)",
        "Job {n} (started in the kernel)": "Tâche {n} (lancée dans le noyau)",
        "job {n} ({title})": "tâche {n} ({title})",
        "A message from the kernel was not understood: {error}": "Message incompris : {error}",
        "The kernel reported an error about {job}: {message}": "Erreur pour {job} : {message}",
        "{s}s": "{s} s",
    });
    h.core
        .set_strings(js_sys::JSON::parse(&map.to_string()).unwrap());
    h.receive(hello());
    h.submit("blank", " \n");
    h.receive(started("blank"));
    let title = |id| h.part(id, ".pc-job-title").text_content().unwrap();
    assert_eq!(title("blank"), "(cellule vide)");
    assert_eq!(
        h.part("blank", "[data-role=\"elapsed\"]")
            .text_content()
            .as_deref(),
        Some("0 s")
    );
    h.receive(
        json!({"type": "started", "job_id": "k", "num": 3, "cell_id": null,
                     "notebook": null, "started_at": 1.0, "origin": "kernel"}),
    );
    assert_eq!(title("k"), "Tâche 3 (lancée dans le noyau)");
    h.take();
    h.receive(json!({"type": "error", "message": "no such job", "job_id": "blank"}));
    h.receive(json!({"type": "no such type"}));
    h.receive(finished_done("k", &[]));
    let effects = h.take();
    let problems: Vec<&str> = effects
        .iter()
        .filter(|e| e["kind"] == "problem")
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert_eq!(problems.len(), 2, "{effects:?}");
    assert_eq!(
        problems[0],
        "Erreur pour tâche 1 ((cellule vide)) : no such job"
    );
    assert!(
        problems[1].starts_with("Message incompris : "),
        "{}",
        problems[1]
    );
    let notify = effects.iter().find(|e| e["kind"] == "notify").unwrap();
    assert_eq!(notify["title"], "Tâche 3 (lancée dans le noyau)");
}
