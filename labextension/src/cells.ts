// The cells of background jobs: which job a cell belongs to, its state badge, its timing
// metadata, the outputs an adopted job's cell lacks, and going to a job's cell.
import type { Cell, ICodeCellModel } from '@jupyterlab/cells';
import { NotebookActions } from '@jupyterlab/notebook';
import type { INotebookTracker, Notebook, NotebookPanel } from '@jupyterlab/notebook';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { Effect, JobState } from './effects';
import { NotebookPaths } from './notebooks';
import { MARK_KEY, OutputWriter, readMark } from './outputs';
import { NotebookWriters } from './writers';

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
  /** The fingerprint of a cell's source, as the kernel keeps it for each job. */
  sourceHash(source: string): string;
  /** The job's cell has another id in this page. */
  rebindCell(jobId: string, cellId: string): void;
  /** Say in the job's row why its output is not in a cell (`null`: nothing to say). */
  cellNote(jobId: string, note: string | null): void;
  /** A notebook was renamed: its jobs' effects name the new path. */
  renameNotebook(from: string, to: string): void;
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
    this._paths = new NotebookPaths(tracker, (from, to) => jobs.renameNotebook(from, to));
    this._labels = {
      queued: trans.__('queued'),
      running: trans.__('running'),
      cancelling: trans.__('killing')
    };
    this.writer = new OutputWriter(
      cell => {
        const notebook = (cell.sharedModel as { notebook?: unknown }).notebook;
        const panel = this.tracker.find(p => p.model?.sharedModel === notebook);
        return !panel || this.writers.isWriter(panel);
      },
      (lines, chars) =>
        trans.__(
          "⋯ %1 lines (%2 characters) not shown here: Save output in the job's row of Background Jobs keeps them ⋯",
          lines.toLocaleString(),
          chars.toLocaleString()
        )
    );
    this._notes = {
      missing: trans.__(
        'Its cell is not in the notebook any more (deleted, or its code changed): its output stays in this panel.'
      ),
      ambiguous: trans.__(
        'Several cells have the code it ran, and none is known to be its own: its output stays in this panel rather than go to the wrong cell.'
      )
    };
    // A foreground run of a cell takes the cell back from its background job: the
    // job's later output then shows only in the panel, never mixed into the new run.
    // (The cell's replay mark goes too, so that the page writing a shared notebook's
    // outputs — maybe another page — sees the cell is no longer the job's.)
    NotebookActions.executionScheduled.connect((_, { cell }) => {
      if (this._owner.has(cell.model.id)) {
        this._owner.set(cell.model.id, FOREGROUND);
        this.writer.reset(cell.model as ICodeCellModel);
        this._mark(cell, null);
      }
      if (cell.model.getMetadata(MARK_KEY) !== undefined) {
        cell.model.deleteMetadata(MARK_KEY);
      }
    });
    tracker.widgetAdded.connect((_, panel) => this.writers.watch(panel));
    tracker.forEach(panel => this.writers.watch(panel));
  }

  /** Which page writes each shared notebook's job outputs (collaboration). */
  readonly writers = new NotebookWriters(panel => this._catchUp(panel));

  /** Writes outputs into the cells (while this page writes their notebook). */
  readonly writer: OutputWriter;

  /** A new background run of `model` as job `jobId`: the cell starts empty, like a run. */
  claim(model: ICodeCellModel, jobId: string): void {
    // Each change costs a re-render of the cell: make only those needed.
    if (model.outputs.length > 0) {
      model.outputs.clear();
    }
    if (model.executionCount !== null) {
      model.executionCount = null;
    }
    for (const key of ['execution', MARK_KEY]) {
      if (model.getMetadata(key) !== undefined) {
        model.deleteMetadata(key);
      }
    }
    this.writer.reset(model);
    this._owner.set(model.id, jobId);
  }

  /**
   * Write a job's outputs into its cell, if the cell is still the job's and this page
   * writes the notebook's outputs. A cell whose replay mark names another job, or already
   * reaches past these outputs, is left alone (another page wrote them, or ran the cell).
   * A cell whose mark stops short of where these follow on lacks earlier outputs: it asks
   * for them again (they come in order, these with them) rather than mark them as there.
   */
  outputs(effect: Extract<Effect, { kind: 'outputs' }>): void {
    const model = this._writable(effect, this.cell(effect.notebook, effect.cell_id));
    if (!model) {
      return;
    }
    const job = this._wireIds.get(effect.job_id) ?? effect.job_id;
    const mark = this.writer.markOf(model);
    if (!mark) {
      if (effect.from === 0) {
        this.writer.apply(model, effect.outputs, { job, seq: effect.next_seq });
      }
      return;
    }
    if (mark.job !== job || mark.seq >= effect.next_seq) {
      return;
    }
    if (mark.seq < effect.from) {
      // After a reload: the kernel's list and these outputs came in one message, before
      // this cell asked for what it lacks. That replay brings these again.
      this.jobs.replay(effect.job_id, mark.seq);
      return;
    }
    this.writer.apply(model, effect.outputs, { job, seq: effect.next_seq });
  }

  /**
   * This page took over writing `panel`'s outputs from a page that went away: each cell
   * gets what it lacks of its job, from its replay mark (no mark: nothing was written).
   */
  private _catchUp(panel: NotebookPanel): void {
    for (const cell of panel.content.widgets) {
      const owner = this._owner.get(cell.model.id);
      if (cell.model.type !== 'code' || !owner || owner === FOREGROUND) {
        continue;
      }
      if (this.jobs.state(owner) === undefined) {
        continue;
      }
      const mark = readMark(cell.model as ICodeCellModel);
      const wire = this._wireIds.get(owner) ?? owner;
      if (!mark || mark.job === wire) {
        this.jobs.replay(owner, mark?.seq ?? 0);
      }
    }
  }

  /**
   * A job this page did not start (a reload, a reopened notebook, another tab, `%job`):
   * the cell was loaded from disk, so it may lack outputs the job wrote while no page
   * held it — it may even have ended meanwhile. Its saved replay mark says how far the
   * cell is up to date with that job; a cell with no mark for it gets the job's whole
   * log, once. A job whose cell was run again since (the kernel says `superseded`) or
   * that started from a foreground cell (`%job`, `map`) leaves the cell as it is.
   */
  adopted(effect: Extract<Effect, { kind: 'adopted' }>): void {
    this._wireIds.set(effect.job_id, effect.wire_id);
    this._paths.adopt(effect.notebook, effect.kernel_id, effect.cell_id);
    if (effect.superseded) {
      this._superseded.add(effect.job_id);
      return;
    }
    const model = this._writable(effect, this._cellOf(effect));
    if (!model) {
      return;
    }
    const mark = readMark(model);
    if (mark?.job === effect.wire_id) {
      if (mark.seq < effect.next_seq) {
        this.jobs.replay(effect.job_id, mark.seq);
      }
      return;
    }
    if (effect.origin === 'kernel') {
      // The cell ran `%job` in the foreground: its own outputs stay; the job's follow.
      if (effect.next_seq > 0) {
        this.jobs.replay(effect.job_id, 0);
      }
      return;
    }
    // As when the job was started: the cell shows this run only.
    model.outputs.clear();
    model.executionCount = null;
    this.writer.reset(model);
    model.setMetadata(MARK_KEY, { job: effect.wire_id, seq: 0 });
    if (effect.next_seq > 0) {
      this.jobs.replay(effect.job_id, 0);
    }
  }

  /**
   * The model of job `job_id`'s `cell` when this page is to write into it: a code cell
   * the job owns, in a notebook whose outputs this page writes (one page writes a shared
   * notebook's).
   */
  private _writable(
    effect: { job_id: string; notebook: string | null },
    cell: Cell | null
  ): ICodeCellModel | null {
    const panel = this.panel(effect.notebook);
    if (!cell || !panel || cell.model.type !== 'code' || !this._owns(effect.job_id, cell)) {
      return null;
    }
    return this.writers.isWriter(panel) ? (cell.model as ICodeCellModel) : null;
  }

  /**
   * The cell of an adopted job. A notebook whose cells have no stored ids gets new ids on
   * every load: then the cell whose source the job ran is it — if exactly one cell has
   * that source. Otherwise no cell is written, and the job's row says why.
   */
  private _cellOf(effect: Extract<Effect, { kind: 'adopted' }>): Cell | null {
    const panel = this.panel(effect.notebook);
    if (!panel || effect.cell_id === null) {
      return null;
    }
    const byId = this.cell(effect.notebook, effect.cell_id);
    if (byId) {
      return byId;
    }
    const hash = effect.source_hash;
    const matches = hash
      ? panel.content.widgets.filter(
          c =>
            c.model.type === 'code' &&
            !this._owner.has(c.model.id) &&
            this.jobs.sourceHash(c.model.sharedModel.getSource()) === hash
        )
      : [];
    if (matches.length === 1) {
      this.jobs.rebindCell(effect.job_id, matches[0].model.id);
      return matches[0];
    }
    this.jobs.cellNote(
      effect.job_id,
      matches.length > 1 ? this._notes.ambiguous : this._notes.missing
    );
    return null;
  }

  /** A job's state changed: its cell's badge, and timing as a foreground run records it. */
  state(effect: Extract<Effect, { kind: 'cell_state' }>, now: number): void {
    if (effect.state === null) {
      this._superseded.delete(effect.job_id);
    }
    const panel = this.panel(effect.notebook);
    const cell = this.cell(effect.notebook, effect.cell_id);
    if (cell && effect.state !== null && FINAL_STATES.has(effect.state)) {
      // A job that ended has all its outputs in its cell by the time its cell says so.
      this.writer.flush(cell.model as ICodeCellModel);
    }
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
    if (panel.content.notebookConfig.recordTiming && this.writers.isWriter(panel)) {
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
    return this._paths.panel(path);
  }

  cell(path: string | null, cellId: string | null): Cell | null {
    const panel = this.panel(path);
    if (!panel || cellId === null) {
      return null;
    }
    // A scan reads every cell's id from its shared model: 1,000 jobs' effects in a
    // notebook of 1,000 cells were a tenth of the page's time. Scan again only when the
    // cell is not where the last scan found it (cells added, moved or deleted since).
    const notebook = panel.content;
    const known = this._cells.get(notebook)?.get(cellId);
    if (known && !known.isDisposed && known.model.id === cellId) {
      return known;
    }
    const byId = new Map(notebook.widgets.map(cell => [cell.model.id, cell]));
    this._cells.set(notebook, byId);
    return byId.get(cellId) ?? null;
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
   * owner, or whose owner has ended while this job is live, or that an earlier run of
   * the cell holds (`superseded`: listed first, it must not keep the cell from the
   * latest run); a foreground run keeps it.
   */
  private _owns(jobId: string, cell: Cell): boolean {
    const owner = this._owner.get(cell.model.id);
    if (owner === jobId) {
      return true;
    }
    if (owner === FOREGROUND || this._superseded.has(jobId)) {
      return false;
    }
    const live = (id: string) => LIVE_STATES.has(this.jobs.state(id) ?? '');
    if (owner === undefined || this._superseded.has(owner) || (!live(owner) && live(jobId))) {
      this._owner.set(cell.model.id, jobId);
      return true;
    }
    return false;
  }

  private readonly _paths: NotebookPaths;
  /** The badge's words, drawn by the stylesheet from the prompt's attribute. */
  private readonly _labels: Record<string, string>;
  /** Why a job's output is not in a cell. */
  private readonly _notes: { missing: string; ambiguous: string };
  /** Adopted jobs whose cell was run again since: they own no cell. */
  private readonly _superseded = new Set<string>();
  /** Job id → its id on the wire, where they differ (adopted jobs). */
  private readonly _wireIds = new Map<string, string>();
  /** Cell model id → the job whose output the cell shows. */
  private readonly _owner = new Map<string, string>();
  private readonly _cells = new WeakMap<Notebook, Map<string, Cell>>();
}
