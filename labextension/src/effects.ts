// The effects the wasm core hands to JavaScript and the wire types they carry. The
// types are generated from the Rust definitions (crate/src/protocol.rs,
// crate/src/scheduler/effect.rs), so nothing here is mirrored by hand.
export type {
  ClientMsg as ClientMessage,
  Effect,
  JobState,
  Output as WireOutput,
  Target
} from './protocol.generated';
