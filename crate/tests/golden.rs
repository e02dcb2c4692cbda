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

/// `expected` without the optional fields a message may write as `null` or leave out
/// alike (`worker`, `dashboard`: Rust leaves them out when `None`), in the message and in
/// each `jobs` entry.
fn without_null_options(mut expected: Value) -> Value {
    fn strip(v: &mut Value) {
        if let Value::Object(m) = v {
            for key in ["worker", "dashboard"] {
                if m.get(key).is_some_and(Value::is_null) {
                    m.remove(key);
                }
            }
        }
    }
    strip(&mut expected);
    if let Some(Value::Array(jobs)) = expected.get_mut("jobs") {
        jobs.iter_mut().for_each(strip);
    }
    expected
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
    types.dedup();
    assert_eq!(
        types,
        [
            "clear",
            "configure",
            "kill",
            "list",
            "replay",
            "saved",
            "submit",
            "text"
        ]
    );
}

#[test]
fn kernel_messages_round_trip() {
    let files = golden("kernel");
    let mut types: Vec<String> = Vec::new();
    for (name, text) in &files {
        let expected: Value = serde_json::from_str(text).unwrap();
        let msg = KernelMsg::from_json(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = serde_json::to_value(&msg).unwrap();
        assert_eq!(
            back,
            without_null_options(expected.clone()),
            "{name} changed in a round trip"
        );
        // serde's derives read it as the core's reader does.
        assert_eq!(
            serde_json::from_value::<KernelMsg>(expected.clone()).ok(),
            Some(msg)
        );
        types.push(type_of(&expected));
    }
    types.sort();
    types.dedup();
    assert_eq!(
        types,
        [
            "cancelling",
            "cleared",
            "conflict",
            "error",
            "finished",
            "hello",
            "jobs",
            "log_trimmed",
            "output",
            "placed",
            "queued",
            "started",
            "text",
            "threads"
        ]
    );
}

#[test]
fn unknown_fields_are_ignored() {
    let text = r#"{"type": "kill", "job_id": "a", "extra": [1, 2], "more": {"x": null}}"#;
    assert_eq!(
        ClientMsg::from_json(text).unwrap(),
        ClientMsg::Kill {
            job_id: "a".into(),
            restart_worker: false
        }
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
    use parallel_cell_core::protocol::{COMM_TARGET, PROTOCOL_VERSION};
    assert_eq!(PROTOCOL_VERSION, 2);
    assert_eq!(COMM_TARGET, "parallel_cell.v2");
    // The version the goldens speak (the server extension opens its comm with it too).
    let hello: Value = serde_json::from_str(&kernel_golden("hello.json")).unwrap();
    assert_eq!(hello["protocol"], PROTOCOL_VERSION);
}

#[test]
fn nesting_depth_limit_is_serde_json_s() {
    // The wasm surface walks JS values with the same limit (crate/tests/web.rs checks it there).
    use parallel_cell_core::protocol::MAX_DEPTH;
    let nested = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
    assert!(serde_json::from_str::<serde_json::Value>(&nested(MAX_DEPTH)).is_ok());
    assert!(serde_json::from_str::<serde_json::Value>(&nested(MAX_DEPTH + 1)).is_err());
}

fn kernel_golden(name: &str) -> String {
    golden("kernel")
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, text)| text)
        .unwrap_or_else(|| panic!("no golden {name}"))
}

#[test]
fn dask_fields_decode() {
    use parallel_cell_core::protocol::{JobList, JobState, Place, Placed, Started, Target};
    let KernelMsg::Started(s) = KernelMsg::from_json(&kernel_golden("started_dask.json")).unwrap()
    else {
        panic!("not started");
    };
    assert_eq!(s.place.target, Target::Dask);
    assert_eq!(s.place.worker, None);
    assert_eq!(
        s.place.dashboard.as_deref(),
        Some("http://127.0.0.1:8787/status")
    );
    // Old messages: a thread, nowhere else.
    let KernelMsg::Started(Started {
        place: Place {
            target,
            worker,
            dashboard,
        },
        ..
    }) = KernelMsg::from_json(&kernel_golden("started.json")).unwrap()
    else {
        panic!("not started");
    };
    assert_eq!((target, worker, dashboard), (Target::Thread, None, None));
    assert_eq!(
        KernelMsg::from_json(&kernel_golden("placed.json")).unwrap(),
        KernelMsg::Placed(Placed {
            job_id: "7d1e4b2a-9c3f-4e8d-a5b6-0f1e2d3c4b5a".into(),
            worker: "tcp://127.0.0.1:40123".into(),
            started_at: 1764000000412.5,
        })
    );
    let KernelMsg::Jobs(JobList { jobs }) =
        KernelMsg::from_json(&kernel_golden("jobs_dask.json")).unwrap()
    else {
        panic!("not jobs");
    };
    let placed: Vec<_> = jobs
        .iter()
        .map(|j| (j.state, j.place.target, j.place.worker.as_deref()))
        .collect();
    assert_eq!(
        placed,
        [
            (JobState::Queued, Target::Dask, None),
            (
                JobState::Running,
                Target::Dask,
                Some("tcp://127.0.0.1:40123")
            ),
        ]
    );
    // `null` is a thread, as a missing target is.
    let text = r#"{"type":"started","job_id":"a","num":1,"cell_id":null,"notebook":null,"started_at":1,"origin":"kernel","target":null}"#;
    let KernelMsg::Started(s) = KernelMsg::from_json(text).unwrap() else {
        panic!("not started");
    };
    assert_eq!(s.place.target, Target::Thread);
}

#[test]
fn bad_dask_fields_are_typed_errors() {
    use parallel_cell_core::error::Error;
    let started = |extra: &str| {
        format!(
            r#"{{"type":"started","job_id":"a","num":1,"cell_id":null,"notebook":null,"started_at":1,"origin":"kernel"{extra}}}"#
        )
    };
    for extra in [
        r#","target":"cluster""#,
        r#","target":"Dask""#,
        r#","target":"""#,
        r#","target":1"#,
        r#","target":["dask"]"#,
        r#","worker":7"#,
        r#","dashboard":{"url":"http://x"}"#,
    ] {
        let text = started(extra);
        assert!(
            matches!(KernelMsg::from_json(&text), Err(Error::Decode(_))),
            "{text} should not decode"
        );
        assert!(serde_json::from_str::<KernelMsg>(&text).is_err(), "{text}");
    }
    let decode = [
        r#"{"type":"placed","job_id":"a","started_at":1}"#,
        r#"{"type":"placed","job_id":"a","worker":null,"started_at":1}"#,
        r#"{"type":"placed","job_id":"a","worker":"tcp://x:1"}"#,
    ];
    for text in decode {
        assert!(
            matches!(KernelMsg::from_json(text), Err(Error::Decode(_))),
            "{text} should not decode"
        );
    }
    assert!(matches!(
        KernelMsg::from_json(r#"{"type":"placed","job_id":"a b","worker":"w","started_at":1}"#),
        Err(Error::Invalid(_))
    ));
    let jobs = r#"{"type":"jobs","jobs":[{"job_id":"a","num":1,"cell_id":null,"notebook":null,"state":"queued","started_at":null,"ended_at":null,"next_seq":0,"error":null,"assigned":[],"origin":"kernel","target":"gpu"}]}"#;
    assert!(matches!(KernelMsg::from_json(jobs), Err(Error::Decode(_))));
    // Client messages: serde's derives.
    for text in [
        r#"{"type":"submit","job_id":"a","cell_id":"c","notebook":"n","code":"","target":"process"}"#,
        r#"{"type":"kill","job_id":"a","restart_worker":"yes"}"#,
        r#"{"type":"configure","log_limit":1,"kill_grace_ms":0,"interruptible_sleep":true,"cluster":5}"#,
    ] {
        assert!(
            matches!(ClientMsg::from_json(text), Err(Error::Decode(_))),
            "{text} should not decode"
        );
    }
}

#[test]
fn a_dashboard_that_is_not_a_web_url_decodes_but_is_no_link() {
    use parallel_cell_core::panel::web_link;
    use parallel_cell_core::protocol::Started;
    for (url, link) in [
        ("javascript:alert(1)", false),
        ("data:text/html,<b>x</b>", false),
        ("file:///etc/passwd", false),
        ("https://dask.example.org/status", true),
    ] {
        let text = format!(
            r#"{{"type":"started","job_id":"a","num":1,"cell_id":null,"notebook":null,"started_at":1,"origin":"kernel","target":"dask","dashboard":{}}}"#,
            serde_json::to_string(url).unwrap()
        );
        let KernelMsg::Started(Started { place, .. }) = KernelMsg::from_json(&text).unwrap() else {
            panic!("not started");
        };
        assert_eq!(place.dashboard.as_deref(), Some(url));
        assert_eq!(web_link(url).is_some(), link, "{url}");
    }
}

#[test]
fn client_dask_fields() {
    use parallel_cell_core::protocol::Target;
    let thread = r#"{"type":"submit","job_id":"a","cell_id":"c","notebook":"n","code":""}"#;
    let ClientMsg::Submit { target, .. } = ClientMsg::from_json(thread).unwrap() else {
        panic!("not submit");
    };
    assert_eq!(target, Target::Thread);
    // A thread submit is written as before: no `target`.
    let back = serde_json::to_value(ClientMsg::from_json(thread).unwrap()).unwrap();
    assert!(back.get("target").is_none(), "{back}");
    let kill = serde_json::to_value(ClientMsg::Kill {
        job_id: "a".into(),
        restart_worker: false,
    })
    .unwrap();
    assert!(kill.get("restart_worker").is_none(), "{kill}");
    // `cluster`: missing (leave it), `null` (embedded cluster) and a string differ.
    let configure = |extra: &str| {
        let text = format!(
            r#"{{"type":"configure","log_limit":1,"kill_grace_ms":0,"interruptible_sleep":true{extra}}}"#
        );
        match ClientMsg::from_json(&text).unwrap() {
            ClientMsg::Configure { cluster, .. } => cluster,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(configure(""), None);
    assert_eq!(configure(r#","cluster":null"#), Some(None));
    assert_eq!(configure(r#","cluster":"""#), Some(Some(String::new())));
    let null = ClientMsg::from_json(
        r#"{"type":"configure","log_limit":1,"kill_grace_ms":0,"interruptible_sleep":true,"cluster":null}"#,
    )
    .unwrap();
    assert_eq!(serde_json::to_value(null).unwrap()["cluster"], Value::Null);
}
