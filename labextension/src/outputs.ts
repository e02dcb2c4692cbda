// Writes job outputs into cell models. A cell's output area only routes iopub messages
// of its own live execute request, so background outputs are applied to the model here,
// mirroring what the output area does for each message type.
import type { ICodeCellModel } from '@jupyterlab/cells';
import type * as nbformat from '@jupyterlab/nbformat';
import type { WireOutput } from './effects';

/** Applies wire outputs to code cell models, one display-id index per cell. */
export class OutputWriter {
  /** Forget per-cell state (a new run of the cell starts with an empty output area). */
  reset(cell: ICodeCellModel): void {
    this._displays.delete(cell.id);
    this._clearPending.delete(cell.id);
  }

  /** Apply `outputs` in order to `cell`'s output area. */
  apply(cell: ICodeCellModel, outputs: readonly WireOutput[]): void {
    for (const output of outputs) {
      this._applyOne(cell, output);
    }
  }

  private _applyOne(cell: ICodeCellModel, output: WireOutput): void {
    const area = cell.outputs;
    switch (output.output_type) {
      case 'clear_output': {
        const wait = Boolean((output as { wait?: boolean }).wait);
        area.clear(wait);
        if (wait) {
          this._clearPending.add(cell.id);
        } else {
          this._displays.delete(cell.id);
        }
        return;
      }
      case 'update_display_data': {
        const out = output as {
          data: nbformat.IMimeBundle;
          metadata: nbformat.OutputMetadata;
          transient?: { display_id?: string };
        };
        const id = out.transient?.display_id;
        const targets = id ? this._displays.get(cell.id)?.get(id) : undefined;
        for (const index of targets ?? []) {
          if (index < area.length) {
            area.set(index, {
              output_type: 'display_data',
              data: out.data,
              metadata: out.metadata ?? {}
            });
          }
        }
        return;
      }
      default: {
        // clear_output(wait=True) empties the area on the next add; the display
        // indices go with it.
        if (this._clearPending.delete(cell.id)) {
          this._displays.delete(cell.id);
        }
        const transient = (output as { transient?: { display_id?: string } }).transient;
        const clean = { ...(output as nbformat.IOutput) };
        delete (clean as { transient?: unknown }).transient;
        area.add(clean);
        const id = transient?.display_id;
        if (id) {
          let byId = this._displays.get(cell.id);
          if (!byId) {
            byId = new Map();
            this._displays.set(cell.id, byId);
          }
          const list = byId.get(id) ?? [];
          list.push(area.length - 1);
          byId.set(id, list);
        }
      }
    }
  }

  private readonly _displays = new Map<string, Map<string, number[]>>();
  private readonly _clearPending = new Set<string>();
}
