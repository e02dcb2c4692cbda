//! TypeScript declarations for the wire format and the effects, generated from the Rust
//! types with ts-rs and committed at `labextension/src/protocol.generated.ts`. This test
//! fails when that file is stale; `PC_UPDATE_TS=1` rewrites it:
//! `PC_UPDATE_TS=1 cargo test -p parallel-cell-core --features ts --test ts_types`
#![cfg(feature = "ts")]

use std::path::PathBuf;

use parallel_cell_core::protocol::*;
use parallel_cell_core::scheduler::Effect;
use ts_rs::TS;

fn generated() -> String {
    let decls = [
        serde_json::Value::decl(),
        JobState::decl(),
        Origin::decl(),
        Target::decl(),
        ErrorInfo::decl(),
        StreamName::decl(),
        Stream::decl(),
        DisplayData::decl(),
        ExecuteResult::decl(),
        ErrorOutput::decl(),
        UpdateDisplayData::decl(),
        ClearOutput::decl(),
        Output::decl(),
        ClientMsg::decl(),
        JobInfo::decl(),
        Hello::decl(),
        Queued::decl(),
        Started::decl(),
        Placed::decl(),
        Outputs::decl(),
        Cancelling::decl(),
        Finished::decl(),
        Cleared::decl(),
        LogTrimmed::decl(),
        Threads::decl(),
        JobText::decl(),
        Conflict::decl(),
        JobList::decl(),
        KernelError::decl(),
        KernelMsg::decl(),
        Effect::decl(),
    ];
    let mut out = String::from(
        "// Generated from crate/src/protocol.rs and crate/src/scheduler/effect.rs by ts-rs.\n\
         // Do not edit: change the Rust types, then run\n\
         //   PC_UPDATE_TS=1 cargo test -p parallel-cell-core --features ts --test ts_types\n\n",
    );
    out.push_str(&format!(
        "/** The protocol version this frontend speaks (sent when the comm opens). */\n\
         export const PROTOCOL_VERSION = {PROTOCOL_VERSION};\n\n\
         /** The comm target name. */\n\
         export const COMM_TARGET = '{COMM_TARGET}';\n"
    ));
    for decl in decls {
        out.push_str("\nexport ");
        out.push_str(decl.trim());
        out.push('\n');
    }
    out
}

#[test]
fn typescript_declarations_are_up_to_date() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../labextension/src/protocol.generated.ts");
    let want = generated();
    if std::env::var_os("PC_UPDATE_TS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is stale: run\n  PC_UPDATE_TS=1 cargo test -p parallel-cell-core --features ts --test ts_types",
        path.display()
    );
}

#[test]
fn effects_for_the_panel_only_are_not_in_the_typescript() {
    let effect = Effect::decl();
    assert!(effect.contains("\"goto_cell\""), "{effect}");
    assert!(
        !effect.contains("row_changed") && !effect.contains("RowChanged"),
        "{effect}"
    );
    assert!(
        !generated().contains("bigint"),
        "every number reaches JS as a number"
    );
}
