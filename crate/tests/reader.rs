//! The core's reader of kernel messages (`KernelMsg::read`): what the goldens cover, what
//! it makes of a field left out or `null`, and that an error names the field.

use std::path::PathBuf;

use parallel_cell_core::error::Error;
use parallel_cell_core::protocol::{
    DisplayData, JobHead, JobInfo, JobList, KernelMsg, MimeBundle, Output, Outputs, Place,
    Provenance, Target,
};
use serde_json::{json, Map, Value};

fn kernel_goldens() -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/kernel");
    let files = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    files
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .map(|text| serde_json::from_str(&text).unwrap())
        .collect()
}

#[test]
fn every_output_type_has_a_golden() {
    let mut types: Vec<String> = kernel_goldens()
        .iter()
        .filter_map(|msg| msg["outputs"].as_array())
        .flatten()
        .map(|o| o["output_type"].as_str().unwrap_or_default().to_owned())
        .collect();
    types.sort();
    types.dedup();
    let want = [
        "clear_output",
        "display_data",
        "error",
        "execute_result",
        "stream",
        "update_display_data",
    ];
    assert_eq!(types, want);
}

#[test]
fn a_field_that_does_not_fit_is_named() {
    let job = json!({"job_id": "a", "num": 1, "cell_id": null, "notebook": null,
        "state": "done", "started_at": 1, "ended_at": 2, "next_seq": 0, "error": null,
        "assigned": [], "origin": "kernel"});
    let with = |mut v: Value, key: &str, value: Value| {
        v[key] = value;
        v
    };
    let error = json!({"ename": "E", "evalue": "v", "traceback": ["ok", 1]});
    let stream = json!({"output_type": "stream", "name": "stdin", "text": ""});
    let cases = [
        (
            json!({"type": "placed", "job_id": "a", "worker": 7, "started_at": 1}),
            "worker",
        ),
        (
            json!({"type": "placed", "job_id": "a", "started_at": 1}),
            "worker",
        ),
        (
            json!({"type": "output", "job_id": "a", "seq": "1", "outputs": []}),
            "seq",
        ),
        (
            json!({"type": "output", "job_id": "a", "seq": 0, "outputs": [stream]}),
            "name",
        ),
        (
            json!({"type": "threads", "job_id": "a", "running": 4_294_967_296_u64}),
            "running",
        ),
        (
            json!({"type": "finished", "job_id": "a", "state": "done", "ended_at": 1,
            "error": error, "assigned": []}),
            "traceback",
        ),
        (
            json!({"type": "jobs", "jobs": [with(job.clone(), "superseded", json!(1))]}),
            "superseded",
        ),
        (
            json!({"type": "jobs", "jobs": [with(job, "state", json!("gone"))]}),
            "state",
        ),
    ];
    for (msg, field) in cases {
        match KernelMsg::read(msg.clone()) {
            Err(Error::Decode(m)) => assert!(m.contains(&format!("`{field}`")), "{m}"),
            other => panic!("{msg} read as {other:?}"),
        }
    }
}

#[test]
fn fields_left_out_or_null_read_as_their_default() {
    let read = |o: Value| {
        KernelMsg::read(json!({"type": "output", "job_id": "a", "seq": 0, "outputs": [o]}))
    };
    let Ok(KernelMsg::Output(Outputs { outputs, .. })) =
        read(json!({"output_type": "display_data", "data": {}, "transient": null}))
    else {
        panic!("display_data without metadata");
    };
    let empty = DisplayData {
        bundle: MimeBundle {
            data: Map::new(),
            metadata: Map::new(),
        },
        transient: None,
    };
    assert_eq!(outputs, [Output::DisplayData(empty)]);
    // `metadata` may be left out, not `null` (as serde's `#[serde(default)]` reads it).
    let null = json!({"output_type": "display_data", "data": {}, "metadata": null});
    assert!(matches!(read(null), Err(Error::Decode(_))));

    let job = json!({"job_id": "a", "num": 1, "state": "queued", "next_seq": 0,
        "assigned": [], "origin": "kernel", "target": null, "superseded": null,
        "conflicts": null, "future": {"x": 1}});
    let Ok(KernelMsg::Jobs(JobList { jobs })) =
        KernelMsg::read(json!({"type": "jobs", "jobs": [job]}))
    else {
        panic!("a jobs entry with its optional fields left out or null");
    };
    let [JobInfo {
        head: JobHead {
            from: Provenance { cell_id: None, .. },
            ..
        },
        started_at: None,
        error: None,
        place:
            Place {
                target: Target::Thread,
                worker: None,
                ..
            },
        superseded: false,
        threads: 0,
        ref conflicts,
        ..
    }] = jobs.as_slice()
    else {
        panic!("{jobs:?}");
    };
    assert!(conflicts.is_empty());
}
