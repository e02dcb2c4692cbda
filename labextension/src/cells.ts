// The cells of background jobs: which job a cell belongs to, its state badge, its timing
// metadata, the outputs an adopted job's cell lacks, and going to a job's cell.
import type { Cell, ICodeCellModel } from '@jupyterlab/cells';
import { NotebookActions } from '@jupyterlab/notebook';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { Effect, JobState } from './effects';
import { MARK_KEY, OutputWriter, readMark } from './outputs';

/** Owner of a cell last run in the foreground (no job id looks like it). */
const FOREGROUND = ' foreground';

const LIVE_STATES = new Set(['queued', 'running', 'cancelling']);

const FINAL_STATES = new Set(['done', 'error', 'killed', 'lost']);

/** The attribute a cell with a background job carries (UI contract). */
export const CELL_STATE_ATTRIBUTE = 'data-parallel-cell-state';

/** The translated words of the cell's badge, on its input prompt. */
const CELL_LABEL_ATTRIBUTE = 'data-parallel-cell-label';

/** What the cells need to know of the jobs. */
export interface IJobLookup {
  /** A job's state name, or `undefined` for an unknown job. */
  state(jobId: string): string | undefined;
  /** Ask the kernel for job `jobId`'s outputs again from `since`. */
  replay(jobId: string, since: number): void;
}

/** The cells of this page's background jobs. */
export class JobCells {
  constructor(
    private readonly tracker: INotebookTracker,
    trans: TranslationBundle,
    private readonly jobs: IJobLookup,
    /** Bring a notebook panel to the front. */
    private readonly activate: (panel: NotebookPanel) => void
  ) {
    this._labels = {
      queued: trans.__('queued'),
      running: trans.__('running'),
      cancelling: trans.__('killing')
    };
    // A foreground run of a cell takes the cell back from its background job: the
    // job's later output then shows only in the panel, never mixed into the new run.
    NotebookActions.executionScheduled.connect((_, { cell }) => {
      if (this._owner.has(cell.model.id)) {
        this._owner.set(cell.model.id, FOREGROUND);
        this.writer.reset(cell.model as ICodeCellModel);
        this._mark(cell, null);
        cell.model.deleteMetadata(MARK_KEY);
      }
    });
  }

  /** Writes outputs into the cells. */
  readonly writer = new OutputWriter();

  /** A new background run of `model` as job `jobId`: the cell starts empty, like a run. */
  claim(model: ICodeCellModel, jobId: string): void {
    model.outputs.clear();
    model.executionCount = null;
    model.deleteMetadata('execution');
    model.deleteMetadata(MARK_KEY);
    this.writer.reset(model);
    this._owner.set(model.id, jobId);
  }

  /** Write a job's outputs into its cell, if the cell is still the job's. */
  outputs(effect: Extract<Effect, { kind: 'outputs' }>): void {
    const cell = this.cell(effect.notebook, effect.cell_id);
    if (cell && cell.model.type === 'code' && this._owns(effect.job_id, cell)) {
      this.writer.apply(cell.model as ICodeCellModel, effect.outputs, {
        job: this._wireIds.get(effect.job_id) ?? effect.job_id,
        seq: effect.next_seq
      });
    }
  }

  /**
   * A job this page did not start (a reload, a reopened notebook, another tab, `%job`):
   * the cell was loaded from disk, so ask the kernel for the outputs it lacks. Its saved
   * replay mark says how far it is up to date with that job; a cell with no mark for it
   * gets a live job's whole log (the job cleared the cell when it started).
   */
  adopted(effect: Extract<Effect, { kind: 'adopted' }>): void {
    this._wireIds.set(effect.job_id, effect.wire_id);
    const cell = this.cell(effect.notebook, effect.cell_id);
    if (!cell || cell.model.type !== 'code') {
      return;
    }
    const model = cell.model as ICodeCellModel;
    const mark = readMark(model);
    if (mark?.job === effect.wire_id) {
      if (mark.seq < effect.next_seq && this._owns(effect.job_id, cell)) {
        this.jobs.replay(effect.job_id, mark.seq);
      }
      return;
    }
    if (LIVE_STATES.has(this.jobs.state(effect.job_id) ?? '') && this._owns(effect.job_id, cell)) {
      model.outputs.clear();
      this.writer.reset(model);
      this.jobs.replay(effect.job_id, 0);
    }
  }

  /** A job's state changed: its cell's badge, and timing as a foreground run records it. */
  state(effect: Extract<Effect, { kind: 'cell_state' }>, now: number): void {
    if (effect.state !== null && FINAL_STATES.has(effect.state)) {
      // A job that ended has all its outputs in its cell by the time its cell says so.
      this.writer.flush();
    }
    const panel = this.panel(effect.notebook);
    const cell = this.cell(effect.notebook, effect.cell_id);
    if (!panel || !cell || !this._owns(effect.job_id, cell)) {
      return;
    }
    if (effect.state === null) {
      // The job was cleared from the panel: the cell keeps its outputs, not the badge.
      this._mark(cell, null);
      this._owner.delete(cell.model.id);
      return;
    }
    this._mark(cell, effect.state);
    // When the notebook's "record timing" setting is on, timing extensions then show
    // the job's real duration.
    if (panel.content.notebookConfig.recordTiming) {
      this._time(cell, effect.state, now);
    }
  }

  /** Show the cell a job came from. */
  goto(path: string | null, cellId: string | null): void {
    const panel = this.panel(path);
    if (!panel) {
      return;
    }
    this.activate(panel);
    const notebook = panel.content;
    const index = notebook.widgets.findIndex(cell => cell.model.id === cellId);
    if (index >= 0) {
      notebook.activeCellIndex = index;
      void notebook.scrollToItem(index, 'smart');
    }
  }

  panel(path: string | null): NotebookPanel | null {
    if (path === null) {
      return null;
    }
    return this.tracker.find(panel => panel.context.path === path) ?? null;
  }

  cell(path: string | null, cellId: string | null): Cell | null {
    const panel = this.panel(path);
    if (!panel || cellId === null) {
      return null;
    }
    return panel.content.widgets.find(cell => cell.model.id === cellId) ?? null;
  }

  private _time(cell: Cell, state: JobState, now: number): void {
    const stamp = new Date(now).toISOString();
    const timing = { ...((cell.model.getMetadata('execution') as Record<string, string>) ?? {}) };
    if (state === 'running') {
      timing['iopub.status.busy'] = stamp;
      timing['iopub.execute_input'] = stamp;
      timing['shell.execute_reply.started'] = stamp;
      delete timing['iopub.status.idle'];
      delete timing['shell.execute_reply'];
    } else if (FINAL_STATES.has(state)) {
      timing['iopub.status.idle'] = stamp;
      timing['shell.execute_reply'] = stamp;
    } else {
      return;
    }
    cell.model.setMetadata('execution', timing);
  }

  /** Show a job's state on its cell (`null`: the cell has no job any more). */
  private _mark(cell: Cell, state: string | null): void {
    const prompt = cell.node.querySelector('.jp-InputPrompt');
    if (state === null) {
      cell.node.removeAttribute(CELL_STATE_ATTRIBUTE);
      prompt?.removeAttribute(CELL_LABEL_ATTRIBUTE);
      return;
    }
    cell.node.setAttribute(CELL_STATE_ATTRIBUTE, state);
    prompt?.setAttribute(CELL_LABEL_ATTRIBUTE, this._labels[state] ?? '');
  }

  /**
   * Whether the job's output belongs in the cell: the latest run of a cell owns it. A
   * job this page did not start (reload, second tab, `%job`) takes a cell that has no
   * owner, or whose owner has ended while this job is live; a foreground run keeps it.
   */
  private _owns(jobId: string, cell: Cell): boolean {
    const owner = this._owner.get(cell.model.id);
    if (owner === jobId) {
      return true;
    }
    if (owner === FOREGROUND) {
      return false;
    }
    const live = (id: string) => LIVE_STATES.has(this.jobs.state(id) ?? '');
    if (owner === undefined || (!live(owner) && live(jobId))) {
      this._owner.set(cell.model.id, jobId);
      return true;
    }
    return false;
  }

  /** The badge's words, drawn by the stylesheet from the prompt's attribute. */
  private readonly _labels: Record<string, string>;
  /** Job id → its id on the wire, where they differ (adopted jobs). */
  private readonly _wireIds = new Map<string, string>();
  /** Cell model id → the job whose output the cell shows. */
  private readonly _owner = new Map<string, string>();
}
