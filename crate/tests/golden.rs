//! The golden messages in `tests/golden/` decode, validate and re-encode to the same JSON.

use std::path::PathBuf;

use parallel_cell_core::protocol::{ClientMsg, KernelMsg, Outputs};
use serde_json::Value;

fn golden(side: &str) -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/golden")
        .join(side);
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect();
    files.sort();
    files
}

fn type_of(v: &Value) -> String {
    v["type"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn client_messages_round_trip() {
    let files = golden("client");
    let mut types: Vec<String> = Vec::new();
    for (name, text) in &files {
        let expected: Value = serde_json::from_str(text).unwrap();
        let msg = ClientMsg::from_json(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = serde_json::to_value(&msg).unwrap();
        assert_eq!(back, expected, "{name} changed in a round trip");
        types.push(type_of(&expected));
    }
    types.sort();
    assert_eq!(types, ["configure", "kill", "list", "replay", "submit"]);
}

#[test]
fn kernel_messages_round_trip() {
    let files = golden("kernel");
    let mut types: Vec<String> = Vec::new();
    for (name, text) in &files {
        let expected: Value = serde_json::from_str(text).unwrap();
        let msg = KernelMsg::from_json(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = serde_json::to_value(&msg).unwrap();
        assert_eq!(back, expected, "{name} changed in a round trip");
        types.push(type_of(&expected));
    }
    types.sort();
    types.dedup();
    assert_eq!(
        types,
        [
            "cancelling",
            "error",
            "finished",
            "hello",
            "jobs",
            "output",
            "started"
        ]
    );
}

#[test]
fn unknown_fields_are_ignored() {
    let text = r#"{"type": "kill", "job_id": "a", "extra": [1, 2], "more": {"x": null}}"#;
    assert_eq!(
        ClientMsg::from_json(text).unwrap(),
        ClientMsg::Kill { job_id: "a".into() }
    );
    let text = r#"{"type":"cancelling","job_id":"a","reason":null,"future":true}"#;
    assert!(KernelMsg::from_json(text).is_ok());
}

#[test]
fn bad_messages_are_typed_errors() {
    use parallel_cell_core::error::Error;
    let cases = [
        r#"{"type": "frobnicate"}"#,
        r#"{"job_id": "a"}"#,
        r#"{"type": "started", "job_id": "a"}"#,
        r#"{"type": "output", "job_id": "a", "seq": "1", "outputs": []}"#,
        r#"{"type": "output", "job_id": "a", "seq": -1, "outputs": []}"#,
        r#"{"type": "output", "job_id": "a", "seq": 0, "outputs": [{"output_type": "nope"}]}"#,
        r#"[1, 2]"#,
        r#"null"#,
        r#"{"type": "finis"#,
    ];
    for text in cases {
        assert!(
            matches!(KernelMsg::from_json(text), Err(Error::Decode(_))),
            "{text} should not decode"
        );
    }
    let invalid = [
        r#"{"type": "cancelling", "job_id": "", "reason": null}"#,
        r#"{"type": "cancelling", "job_id": "a b", "reason": null}"#,
        r#"{"type": "cancelling", "job_id": "<script>", "reason": null}"#,
        r#"{"type": "finished", "job_id": "a", "state": "running", "ended_at": 1, "error": null, "assigned": []}"#,
    ];
    for text in invalid {
        assert!(
            matches!(KernelMsg::from_json(text), Err(Error::Invalid(_))),
            "{text} should be invalid"
        );
    }
    let long_id = format!(r#"{{"type": "kill", "job_id": "{}"}}"#, "a".repeat(65));
    assert!(matches!(
        ClientMsg::from_json(&long_id),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn rich_outputs_pass_through_untouched() {
    let (_, text) = golden("kernel")
        .into_iter()
        .find(|(n, _)| n == "output_rich.json")
        .unwrap();
    let KernelMsg::Output(Outputs { outputs, .. }) = KernelMsg::from_json(&text).unwrap() else {
        panic!("not an output message");
    };
    let expected: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_value(&outputs).unwrap(), expected["outputs"]);
}

#[test]
fn constants() {
    assert_eq!(parallel_cell_core::protocol::PROTOCOL_VERSION, 1);
    assert_eq!(
        parallel_cell_core::protocol::COMM_TARGET,
        "parallel_cell.v1"
    );
}

#[test]
fn nesting_depth_limit_is_serde_json_s() {
    // The wasm surface walks JS values with the same limit (tests/web.rs checks it there).
    use parallel_cell_core::protocol::MAX_DEPTH;
    let nested = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
    assert!(serde_json::from_str::<serde_json::Value>(&nested(MAX_DEPTH)).is_ok());
    assert!(serde_json::from_str::<serde_json::Value>(&nested(MAX_DEPTH + 1)).is_err());
}
