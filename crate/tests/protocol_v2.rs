//! Version 2's messages (the kernel owns the queue): what the goldens carry, what may be
//! left out, and what is refused.

use std::path::PathBuf;

use parallel_cell_core::error::Error;
use parallel_cell_core::protocol::*;
use serde_json::{json, Value};

fn golden(side: &str, name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/golden")
        .join(side)
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn submit_chain_and_configure_queue() {
    match ClientMsg::from_json(&golden("client", "submit_chain.json")).unwrap() {
        ClientMsg::Submit {
            after, source_hash, ..
        } => {
            assert_eq!(
                after.as_deref(),
                Some("3f2c9a7e-1b2d-4c5e-8f90-a1b2c3d4e5f6")
            );
            assert_eq!(source_hash.as_deref(), Some("f3a9c1d27b4e8a06"));
        }
        other => panic!("{other:?}"),
    }
    match ClientMsg::from_json(&golden("client", "configure_queue.json")).unwrap() {
        ClientMsg::Configure {
            cap,
            log_budget,
            cleanup_grace_ms,
            ..
        } => assert_eq!(
            (cap, log_budget, cleanup_grace_ms),
            (Some(4), Some(67_108_864), Some(2000))
        ),
        other => panic!("{other:?}"),
    }
    // Without them, a submit and a configure are written as in version 1.
    let back =
        serde_json::to_value(ClientMsg::from_json(&golden("client", "configure.json")).unwrap())
            .unwrap();
    assert!(back.get("cap").is_none() && back.get("log_budget").is_none());
    assert!(back.get("cleanup_grace_ms").is_none());
    let back =
        serde_json::to_value(ClientMsg::from_json(&golden("client", "submit.json")).unwrap())
            .unwrap();
    assert!(back.get("after").is_none() && back.get("source_hash").is_none());
    assert_eq!(
        ClientMsg::from_json(&golden("client", "clear.json")).unwrap(),
        ClientMsg::Clear {
            job_ids: vec!["3f2c9a7e-1b2d-4c5e-8f90-a1b2c3d4e5f6".into(), "k2".into()]
        }
    );
    assert_eq!(
        ClientMsg::from_json(&golden("client", "saved.json")).unwrap(),
        ClientMsg::Saved {
            job_ids: vec!["3f2c9a7e-1b2d-4c5e-8f90-a1b2c3d4e5f6".into(), "k2".into()]
        }
    );
}

#[test]
fn bad_client_messages_are_refused() {
    let refused = |v: Value| ClientMsg::from_json(&v.to_string()).is_err();
    let submit =
        json!({"type": "submit", "job_id": "a", "cell_id": "c", "notebook": "n", "code": ""});
    for (key, value) in [
        ("after", json!("a b")),
        ("after", json!(7)),
        ("source_hash", json!("<x>")),
    ] {
        let mut m = submit.clone();
        m[key] = value;
        assert!(refused(m), "{key}");
    }
    let configure = json!({"type": "configure", "log_limit": 1, "kill_grace_ms": 0, "interruptible_sleep": true});
    for (key, value) in [
        ("cap", json!(0)),
        ("cap", json!(-1)),
        ("cap", json!(1.5)),
        ("log_budget", json!(0)),
        ("log_budget", json!("1")),
    ] {
        let mut m = configure.clone();
        m[key] = value;
        assert!(refused(m), "{key}");
    }
    let too_many: Vec<String> = (0..=MAX_CLEAR).map(|i| format!("j{i}")).collect();
    assert!(matches!(
        ClientMsg::Clear { job_ids: too_many }.validate(),
        Err(Error::Invalid(_))
    ));
    assert!(refused(json!({"type": "clear", "job_ids": ["ok", ""]})));
    assert!(refused(json!({"type": "clear"})));
    assert!(refused(json!({"type": "saved", "job_ids": ["no spaces"]})));
    assert!(refused(json!({"type": "saved", "job_ids": "k1"})));
}

#[test]
fn queued_cleared_log_trimmed_decode() {
    let KernelMsg::Queued(q) = KernelMsg::from_json(&golden("kernel", "queued.json")).unwrap()
    else {
        panic!("not queued");
    };
    assert_eq!(
        (q.head.num, q.head.from.origin, q.target),
        (2, Origin::Frontend, Target::Thread)
    );
    assert_eq!(
        q.after.as_deref(),
        Some("3f2c9a7e-1b2d-4c5e-8f90-a1b2c3d4e5f6")
    );
    let KernelMsg::Started(st) =
        KernelMsg::from_json(&golden("kernel", "started_chain.json")).unwrap()
    else {
        panic!("not started");
    };
    assert_eq!(st.source_hash.as_deref(), Some("f3a9c1d27b4e8a06"));
    assert!(matches!(
        KernelMsg::from_json(&golden("kernel", "cleared.json")).unwrap(),
        KernelMsg::Cleared(Cleared { job_ids }) if job_ids.len() == 2
    ));
    assert!(matches!(
        KernelMsg::from_json(&golden("kernel", "log_trimmed.json")).unwrap(),
        KernelMsg::LogTrimmed(LogTrimmed { reason, .. }) if reason.contains("64 MiB")
    ));
    let KernelMsg::Jobs(JobList { jobs }) =
        KernelMsg::from_json(&golden("kernel", "jobs_ended.json")).unwrap()
    else {
        panic!("not jobs");
    };
    assert!(jobs[0].superseded);
    assert!(jobs[0].log_trimmed.is_some());
    // A version-1 entry (no after, source_hash, superseded, log_trimmed) still reads.
    let old = r#"{"type":"jobs","jobs":[{"job_id":"a","num":1,"cell_id":null,"notebook":null,"state":"done","started_at":1,"ended_at":2,"next_seq":0,"error":null,"assigned":[],"origin":"kernel","superseded":null}]}"#;
    let KernelMsg::Jobs(JobList { jobs }) = KernelMsg::from_json(old).unwrap() else {
        panic!("not jobs");
    };
    assert_eq!(
        (
            jobs[0].after.as_deref(),
            jobs[0].superseded,
            jobs[0].log_trimmed.as_deref()
        ),
        (None, false, None)
    );
    assert_eq!(
        serde_json::from_str::<KernelMsg>(old).ok(),
        Some(KernelMsg::Jobs(JobList { jobs }))
    );
}

#[test]
fn bad_kernel_messages_are_refused() {
    for text in [
        r#"{"type":"queued","job_id":"a","num":1,"cell_id":null,"notebook":null,"origin":"kernel","after":"a b","source_hash":null}"#,
        r#"{"type":"cleared","job_ids":["a",""]}"#,
        r#"{"type":"log_trimmed","job_id":"<b>","reason":"x"}"#,
    ] {
        assert!(
            matches!(KernelMsg::from_json(text), Err(Error::Invalid(_))),
            "{text}"
        );
    }
    for text in [
        r#"{"type":"queued","job_id":"a","cell_id":null,"notebook":null,"origin":"kernel"}"#,
        r#"{"type":"cleared","job_ids":"a"}"#,
        r#"{"type":"cleared"}"#,
        r#"{"type":"log_trimmed","job_id":"a","reason":null}"#,
        r#"{"type":"jobs","jobs":[{"job_id":"a","num":1,"cell_id":null,"notebook":null,"state":"done","started_at":1,"ended_at":2,"next_seq":0,"error":null,"assigned":[],"origin":"kernel","superseded":"yes"}]}"#,
    ] {
        assert!(
            matches!(KernelMsg::from_json(text), Err(Error::Decode(_))),
            "{text}"
        );
        assert!(serde_json::from_str::<KernelMsg>(text).is_err(), "{text}");
    }
}
