// Writes job outputs into cell models. A cell's output area only routes iopub messages
// of its own live execute request, so background outputs are applied to the model here,
// mirroring what the output area does for each message type.
//
// Writes are coalesced: outputs that arrive while a write is pending join it (adjacent
// stream text of the same name becomes one add). JupyterLab re-renders a stream output's
// whole text on every add, so a job printing megabytes would cost time quadratic in the
// number of adds; the pause before the next write grows with what the last one cost, so
// output never takes more than about a third of the page's main thread. A turn of writes
// stops after ~8 ms (many chatty jobs make many short tasks, not one long one), and while
// the person types, writes wait for a pause between keys (at most 2 s).
//
// A stream output is bounded (`streamLimit` characters): past it the cell shows the
// head and the live tail with a marked gap, so each write re-renders at most the limit
// however much a job prints; the kernel's replay log has the rest ("Save output").
import type { ICodeCellModel } from '@jupyterlab/cells';
import type * as nbformat from '@jupyterlab/nbformat';
import { boundedText, STREAM_LIMIT, type GapText } from './bounded';
import type { WireOutput } from './effects';

export { STREAM_LIMIT, type GapText };

/** The pause after a write, as a multiple of what the write cost. */
const PAUSE_PER_COST = 2;
/** The longest pause between two writes to the cells (ms). */
const MAX_PAUSE = 5000;
/** A turn of writes stops after the cell that takes it past this (ms). */
const SLICE_MS = 8;
/** Writes wait while the person types: until keys are this far apart (ms)… */
const INPUT_QUIET_MS = 150;
/** …but never longer than this (ms). */
const MAX_DEFER_MS = 2000;
type IOutputModel = ReturnType<ICodeCellModel['outputs']['get']>;

/** nbformat's text, one string or a list of lines, as one string. */
const joined = (text: nbformat.MultilineString): string =>
  typeof text === 'string' ? text : text.join('');

/** The text of a stream output model. */
function streamText(model: IOutputModel): string {
  const live = (model as { streamText?: { text: string } }).streamText;
  // JupyterLab ≥ 4.1 keeps it as a text model.
  return live ? live.text : joined((model.toJSON() as nbformat.IStream).text);
}

interface IPending {
  cell: ICodeCellModel;
  outputs: WireOutput[];
  mark?: IReplayMark;
}

/**
 * How far a cell's outputs are up to date with a job: saved in the cell's metadata with
 * the outputs, so a page opened later asks the kernel to replay only what the cell lacks.
 */
export interface IReplayMark {
  /** The job's id on the wire. */
  job: string;
  /** The seq of the job's next output (every earlier one is in the cell). */
  seq: number;
}

/** The cell metadata key of the replay mark. */
export const MARK_KEY = 'parallel_cell';

/** The replay mark saved in a cell, if any. */
export function readMark(cell: ICodeCellModel): IReplayMark | null {
  const mark = cell.getMetadata(MARK_KEY) as Partial<IReplayMark> | undefined;
  return typeof mark?.job === 'string' && typeof mark.seq === 'number' && mark.seq >= 0
    ? { job: mark.job, seq: mark.seq }
    : null;
}

/** Applies wire outputs to code cell models, one display-id index per cell. */
export class OutputWriter {
  /**
   * @param mayWrite whether this page still writes `cell`'s notebook when the queued
   * outputs are due (another page may have taken over a shared notebook meanwhile).
   * @param gapText what the marked gap of a bounded stream output says (translated).
   */
  constructor(
    private readonly mayWrite: (cell: ICodeCellModel) => boolean,
    private readonly gapText: GapText
  ) {
    window.addEventListener('keydown', () => (this._lastKey = performance.now()), {
      capture: true,
      passive: true
    });
  }

  /** Characters a cell shows of one stream output (the setting). */
  streamLimit = STREAM_LIMIT;

  /** Forget per-cell state and pending writes (a new run of the cell starts empty). */
  reset(cell: ICodeCellModel): void {
    this._displays.delete(cell.id);
    this._clearPending.delete(cell.id);
    this._pending.delete(cell.id);
  }

  /** Queue `outputs`, in order, for `cell`'s output area; then record `mark`. */
  apply(cell: ICodeCellModel, outputs: readonly WireOutput[], mark?: IReplayMark): void {
    let pending = this._pending.get(cell.id);
    if (!pending || pending.cell !== cell) {
      pending = { cell, outputs: [] };
      this._pending.set(cell.id, pending);
    }
    const queue = pending.outputs;
    for (const output of outputs) {
      const last = queue[queue.length - 1];
      if (
        last?.output_type === 'stream' &&
        output.output_type === 'stream' &&
        last.name === output.name
      ) {
        queue[queue.length - 1] = { ...last, text: last.text + output.text };
      } else {
        queue.push(output);
      }
    }
    pending.mark = mark ?? pending.mark;
    this._schedule();
  }

  /** How far `cell` is up to date, counting what is queued for it. */
  markOf(cell: ICodeCellModel): IReplayMark | null {
    const pending = this._pending.get(cell.id);
    return pending?.cell === cell && pending.mark ? pending.mark : readMark(cell);
  }

  /** Write everything queued now, or only what is queued for `cell`. */
  flush(cell?: ICodeCellModel): void {
    for (const [id, pending] of this._pending) {
      if (!cell || id === cell.id) {
        this._pending.delete(id);
        this._write(pending);
      }
    }
  }

  /**
   * The timer's turn: write the cells in the order their outputs came, until a slice of
   * the main thread is spent (at least one cell); the rest wait for the next turn, so
   * many chatty jobs never make one long task.
   */
  private _turn(): void {
    const started = performance.now();
    if (started - this._lastKey < INPUT_QUIET_MS) {
      this._deferredSince ??= started;
      if (started - this._deferredSince < MAX_DEFER_MS) {
        this._schedule(INPUT_QUIET_MS);
        return;
      }
    }
    this._deferredSince = null;
    for (const [id, pending] of this._pending) {
      this._pending.delete(id);
      this._write(pending);
      if (performance.now() - started > SLICE_MS) {
        break;
      }
    }
    this._pause = Math.min(MAX_PAUSE, (performance.now() - started) * PAUSE_PER_COST);
    if (this._pending.size > 0) {
      this._schedule();
    }
  }

  private _write({ cell, outputs, mark }: IPending): void {
    if (cell.isDisposed) {
      return; // the cell was deleted: the panel keeps the job's last line
    }
    // Another page took over, or already wrote these outputs into the shared cell.
    const current = readMark(cell);
    if (!this.mayWrite(cell) || (mark && current?.job === mark.job && current.seq >= mark.seq)) {
      return;
    }
    for (const output of outputs) {
      this._applyOne(cell, output);
    }
    if (mark) {
      cell.setMetadata(MARK_KEY, { ...mark });
    }
  }

  private _schedule(delay = this._pause): void {
    if (this._timer === null) {
      this._timer = window.setTimeout(() => {
        this._timer = null;
        this._turn();
      }, delay);
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
        const clearing = this._clearPending.delete(cell.id);
        if (clearing) {
          this._displays.delete(cell.id);
        }
        if (
          !clearing &&
          output.output_type === 'stream' &&
          this._appendBounded(cell, output as nbformat.IStream)
        ) {
          return;
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

  /**
   * Append `output` to the cell's last stream output when that one is (or now becomes)
   * longer than the limit, or already has a gap (maybe the server's, written while no
   * page was open): the middle gives way to a marked gap. `false`: under the limit,
   * JupyterLab's own append does it.
   */
  private _appendBounded(cell: ICodeCellModel, output: nbformat.IStream): boolean {
    const area = cell.outputs;
    const last = area.length > 0 ? area.get(area.length - 1) : undefined;
    const before =
      last?.type === 'stream' && (last.toJSON() as nbformat.IStream).name === output.name
        ? streamText(last)
        : null;
    const text = boundedText(before, joined(output.text), this.streamLimit, this.gapText);
    if (text === null) {
      return false;
    }
    if (before === null) {
      area.add({ output_type: 'stream', name: output.name, text: '' });
    }
    area.set(area.length - 1, { output_type: 'stream', name: output.name, text });
    return true;
  }

  private readonly _displays = new Map<string, Map<string, number[]>>();
  private readonly _clearPending = new Set<string>();
  private readonly _pending = new Map<string, IPending>();
  private _timer: number | null = null;
  private _lastKey = -Infinity;
  private _deferredSince: number | null = null;
  private _pause = 0;
}
