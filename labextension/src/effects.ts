// Shapes of the effects the wasm core hands to JavaScript (see crate/src/lib.rs).
import type * as nbformat from '@jupyterlab/nbformat';

/** A message for the kernel runtime, in the protocol of docs/protocol.md. */
export type ClientMessage = { type: string } & Record<string, unknown>;

/** One kernel output as it travels on the wire (nbformat, plus `clear_output` and
 * `update_display_data` instructions as on iopub). */
export type WireOutput =
  | nbformat.IOutput
  | { output_type: 'clear_output'; wait: boolean }
  | {
      output_type: 'update_display_data';
      data: nbformat.IMimeBundle;
      metadata: nbformat.OutputMetadata;
      transient?: { display_id?: string };
    };

export type Effect =
  | { kind: 'send'; kernel_id: string; message: ClientMessage }
  | {
      kind: 'outputs';
      job_id: string;
      kernel_id: string;
      notebook: string | null;
      cell_id: string | null;
      outputs: WireOutput[];
    }
  | {
      kind: 'cell_state';
      job_id: string;
      notebook: string | null;
      cell_id: string | null;
      state: string;
    }
  | {
      kind: 'notify';
      job_id: string;
      notebook: string | null;
      cell_id: string | null;
      state: string;
      title: string;
    }
  | { kind: 'goto_cell'; notebook: string | null; cell_id: string | null }
  | { kind: 'problem'; message: string };
