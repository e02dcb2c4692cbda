// Carries the wasm core's effects out into JupyterLab: kernel links, cell outputs,
// cell state attributes, notifications. No job logic lives here.
import { Notification } from '@jupyterlab/apputils';
import type { Cell, ICodeCellModel } from '@jupyterlab/cells';
import { NotebookActions } from '@jupyterlab/notebook';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { Kernel } from '@jupyterlab/services';
import type { TranslationBundle } from '@jupyterlab/translation';
import { UUID } from '@lumino/coreutils';
import {
  isIPython,
  kernelExists,
  KernelLink,
  KernelLinks,
  RuntimeSettings,
  runtimeLoaded
} from './comm';
import type { Effect } from './effects';
import { MARK_KEY, OutputWriter, readMark } from './outputs';
import { Core } from './wasm';

/** Owner of a cell last run in the foreground (no job id looks like it). */
const FOREGROUND = ' foreground';

const LIVE_STATES = new Set(['queued', 'running', 'cancelling']);

const FINAL_STATES = new Set(['done', 'error', 'killed', 'lost']);

/** The attribute a cell with a background job carries (UI contract). */
export const CELL_STATE_ATTRIBUTE = 'data-parallel-cell-state';

/** The translated words of the cell's badge, on its input prompt. */
const CELL_LABEL_ATTRIBUTE = 'data-parallel-cell-label';

export interface IJobsOptions {
  tracker: INotebookTracker;
  root: HTMLElement;
  trans: TranslationBundle;
  concurrency: number;
  /** Bring a notebook panel to the front. */
  activate: (panel: NotebookPanel) => void;
}

/** The background jobs of this page: one wasm core, one link per kernel. */
export class BackgroundJobs {
  constructor(options: IJobsOptions) {
    this._tracker = options.tracker;
    this._trans = options.trans;
    this._activate = options.activate;
    this._links = new KernelLinks((kernelId, data) => this._core.receive(kernelId, data));
    this._core = new Core(
      options.root,
      (effect: Effect) => this._onEffect(effect),
      options.concurrency
    );
    // The panel's words, through JupyterLab's translator.
    const words: Record<string, string> = {};
    for (const english of this._core.strings() as string[]) {
      words[english] = this._trans.__(english);
    }
    this._core.set_strings(words);
    this._tracker.widgetAdded.connect((_, panel) => this._watch(panel));
    // The runtime sends every job's messages to each open comm: close ours when the page
    // goes away, or each reload would add one more receiver of all that traffic.
    window.addEventListener('pagehide', () => this._links.closeAll());
    // A foreground run of a cell takes the cell back from its background job: the
    // job's later output then shows only in the panel, never mixed into the new run.
    NotebookActions.executionScheduled.connect((_, { cell }) => {
      if (this._owner.has(cell.model.id)) {
        this._owner.set(cell.model.id, FOREGROUND);
        this._writer.reset(cell.model as ICodeCellModel);
        this._markCell(cell, null);
        cell.model.deleteMetadata(MARK_KEY);
      }
    });
    this._tracker.forEach(panel => this._watch(panel));
  }

  /** Notifications on job end (a setting). */
  notifications = true;
  /** No notification for jobs that ended faster than this (a setting). */
  notifyAfterSeconds = 0;

  setConcurrency(cap: number): void {
    this._core.set_cap(cap);
  }

  /** The runtime settings each kernel gets (now, and when it connects later). */
  configureRuntime(settings: Omit<RuntimeSettings, 'type'>): void {
    this._links.configure({ type: 'configure', ...settings });
  }

  /** Submit the given code cells of `panel` as background jobs, in notebook order. */
  async runInBackground(panel: NotebookPanel, cells: readonly Cell[]): Promise<string[]> {
    const kernel = panel.sessionContext.session?.kernel;
    if (!kernel) {
      throw new Error(this._trans.__('This notebook has no running kernel.'));
    }
    const reason = await this.supported(kernel);
    if (reason) {
      throw new Error(this._trans.__('Background jobs are unavailable here: %1', reason));
    }
    await this._links.connect(kernel);
    const ids: string[] = [];
    for (const cell of cells) {
      if (cell.model.type !== 'code') {
        continue;
      }
      const model = cell.model as ICodeCellModel;
      const jobId = UUID.uuid4();
      // Like a normal run: the cell's old outputs go away when the new run is queued.
      model.outputs.clear();
      model.executionCount = null;
      model.deleteMetadata('execution');
      model.deleteMetadata(MARK_KEY);
      this._writer.reset(model);
      this._owner.set(model.id, jobId);
      this._core.submit(
        jobId,
        kernel.id,
        panel.context.path,
        model.id,
        model.sharedModel.getSource()
      );
      ids.push(jobId);
    }
    return ids;
  }

  /**
   * Why the notebook's kernel cannot run background jobs, `null` when it can, or
   * `undefined` while that is not known yet (`changed` is then called once it is).
   */
  unsupportedReason(panel: NotebookPanel, changed: () => void): string | null | undefined {
    const kernel = panel.sessionContext.session?.kernel;
    if (!kernel) {
      return this._trans.__('the notebook has no running kernel');
    }
    if (this._support.has(kernel)) {
      return this._support.get(kernel);
    }
    void this.supported(kernel).then(changed);
    return undefined;
  }

  /** Why `kernel` cannot run background jobs, or `null` when it can (cached). */
  supported(kernel: Kernel.IKernelConnection): Promise<string | null> {
    let pending = this._supportPending.get(kernel);
    if (!pending) {
      pending = kernel.info.then(
        info => {
          const reason = isIPython(info)
            ? null
            : this._trans.__('needs an IPython kernel, this one is "%1"', info.implementation);
          this._support.set(kernel, reason);
          return reason;
        },
        () => this._trans.__('the kernel did not say what it is')
      );
      this._supportPending.set(kernel, pending);
    }
    return pending;
  }

  kill(jobId: string): void {
    this._core.kill(jobId);
  }

  killAll(): void {
    this._core.kill_all();
  }

  clearFinished(): void {
    this._core.clear_finished();
  }

  jobState(jobId: string): string | undefined {
    return this._core.job_state(jobId);
  }

  dispose(): void {
    this._core.free();
  }

  private _watch(panel: NotebookPanel): void {
    const session = panel.sessionContext;
    let kernel: Kernel.IKernelConnection | null = session.session?.kernel ?? null;
    // Closing the notebook disposes its session connection (the kernel reads "dead"),
    // but the kernel and its jobs live on: keep them, and keep listening to them through
    // another view of that kernel if one is open.
    const closing = () => session.isDisposed || panel.isDisposed;
    session.disposed.connect(() => {
      if (kernel) {
        this._detached(kernel.id, panel);
      }
    });
    session.kernelChanged.connect((_, change) => {
      if (closing()) {
        return;
      }
      if (change.oldValue) {
        this._lost(change.oldValue.id);
      }
      kernel = change.newValue;
      if (kernel) {
        void this._reattach(kernel);
      }
    });
    void session.ready.then(() => {
      const current = session.session?.kernel;
      if (current) {
        void this._reattach(current);
      }
    });
    // While the connection is down, ask the server now and then whether the kernel is
    // still there: JupyterLab's own reconnection backs off for seconds before it says so.
    session.connectionStatusChanged.connect((_, status) => {
      if (status === 'connecting' && kernel && !closing()) {
        void this._checkWhileAway(kernel);
      }
    });
    session.statusChanged.connect((_, status) => {
      if (
        !closing() &&
        kernel &&
        (status === 'restarting' || status === 'autorestarting' || status === 'dead')
      ) {
        this._lost(kernel.id);
      }
    });
  }

  /**
   * After a page reload, or in a second tab, the kernel may already run jobs: when the
   * runtime is loaded there, connect too, so the panel lists them and outputs resume.
   * A kernel that never ran a job is left alone.
   */
  private async _reattach(kernel: Kernel.IKernelConnection): Promise<void> {
    try {
      if ((await this.supported(kernel)) === null && (await runtimeLoaded(kernel))) {
        await this._links.connect(kernel);
      }
    } catch (error) {
      console.debug('parallel-cell: no reattach to kernel', kernel.id, error);
    }
  }

  /** Mark the kernel's jobs lost as soon as the server says the kernel is gone. */
  private async _checkWhileAway(kernel: Kernel.IKernelConnection): Promise<void> {
    if (this._checking.has(kernel)) {
      return;
    }
    this._checking.add(kernel);
    try {
      while (!kernel.isDisposed && kernel.connectionStatus !== 'connected') {
        await new Promise(resolve => setTimeout(resolve, 500));
        if ((await kernelExists(kernel)) === false) {
          this._lost(kernel.id);
          return;
        }
      }
    } finally {
      this._checking.delete(kernel);
    }
  }

  /** A notebook closed: its kernel connection is gone, its kernel and jobs are not. */
  private _detached(kernelId: string, closed: NotebookPanel): void {
    const link = this._links.get(kernelId);
    if (!link || !link.kernel.isDisposed) {
      return;
    }
    this._links.drop(kernelId);
    const other = this._tracker.find(
      p => p !== closed && !p.isDisposed && p.sessionContext.session?.kernel?.id === kernelId
    );
    const kernel = other?.sessionContext.session?.kernel;
    if (kernel) {
      void this._reattach(kernel);
    }
  }

  private _lost(kernelId: string): void {
    this._links.drop(kernelId);
    this._core.kernel_lost(kernelId);
  }

  private _onEffect(effect: Effect): void {
    try {
      this._apply(effect);
    } catch (error) {
      console.error('parallel-cell: could not apply', effect.kind, error);
    }
  }

  private _apply(effect: Effect): void {
    switch (effect.kind) {
      case 'send': {
        const link = this._links.get(effect.kernel_id);
        if (!link || !link.send(effect.message)) {
          this._problem(
            this._trans.__('The kernel of this job is not connected; the request was not sent.')
          );
          return;
        }
        this._warnIfWaiting(link, effect.message.type);
        return;
      }
      case 'outputs': {
        const cell = this._cell(effect.notebook, effect.cell_id);
        if (cell && cell.model.type === 'code' && this._owns(effect.job_id, cell)) {
          this._writer.apply(cell.model as ICodeCellModel, effect.outputs, {
            job: this._wireIds.get(effect.job_id) ?? effect.job_id,
            seq: effect.next_seq
          });
        }
        return;
      }
      case 'adopted':
        this._adopted(effect);
        return;
      case 'cell_state': {
        this._cellState(effect);
        return;
      }
      case 'notify':
        this._notify(effect);
        return;
      case 'goto_cell':
        this._goto(effect.notebook, effect.cell_id);
        return;
      case 'problem':
        this._problem(effect.message);
        return;
    }
  }

  /**
   * A job this page did not start (a reload, a reopened notebook, another tab, `%job`):
   * the cell was loaded from disk, so ask the kernel for the outputs it lacks. Its saved
   * replay mark says how far it is up to date with that job; a cell with no mark for it
   * gets a live job's whole log (the job cleared the cell when it started).
   */
  private _adopted(effect: Extract<Effect, { kind: 'adopted' }>): void {
    this._wireIds.set(effect.job_id, effect.wire_id);
    const cell = this._cell(effect.notebook, effect.cell_id);
    if (!cell || cell.model.type !== 'code') {
      return;
    }
    const model = cell.model as ICodeCellModel;
    const mark = readMark(model);
    if (mark?.job === effect.wire_id) {
      if (mark.seq < effect.next_seq && this._owns(effect.job_id, cell)) {
        this._core.replay(effect.job_id, mark.seq);
      }
      return;
    }
    const state = this._core.job_state(effect.job_id) ?? '';
    if (LIVE_STATES.has(state) && this._owns(effect.job_id, cell)) {
      model.outputs.clear();
      this._writer.reset(model);
      this._core.replay(effect.job_id, 0);
    }
  }

  private _cellState(effect: Extract<Effect, { kind: 'cell_state' }>): void {
    const now = Date.now();
    if (effect.state === 'running' && !this._started.has(effect.job_id)) {
      this._started.set(effect.job_id, now);
    }
    const panel = this._panel(effect.notebook);
    const cell = this._cell(effect.notebook, effect.cell_id);
    if (!panel || !cell || !this._owns(effect.job_id, cell)) {
      return;
    }
    if (effect.state === null) {
      // The job was cleared from the panel: the cell keeps its outputs, not the badge.
      this._markCell(cell, null);
      this._owner.delete(cell.model.id);
      return;
    }
    this._markCell(cell, effect.state);
    // Timing as JupyterLab records it for a foreground run (when the notebook's
    // "record timing" setting is on), so timing extensions show the job's duration.
    if (!panel.content.notebookConfig.recordTiming) {
      return;
    }
    const stamp = new Date(now).toISOString();
    const timing = { ...((cell.model.getMetadata('execution') as Record<string, string>) ?? {}) };
    if (effect.state === 'running') {
      timing['iopub.status.busy'] = stamp;
      timing['iopub.execute_input'] = stamp;
      timing['shell.execute_reply.started'] = stamp;
      delete timing['iopub.status.idle'];
      delete timing['shell.execute_reply'];
    } else if (FINAL_STATES.has(effect.state)) {
      timing['iopub.status.idle'] = stamp;
      timing['shell.execute_reply'] = stamp;
    } else {
      return;
    }
    cell.model.setMetadata('execution', timing);
  }

  /** Show a job's state on its cell (`null`: the cell has no job any more). */
  private _markCell(cell: Cell, state: string | null): void {
    // The badge's words, drawn by the stylesheet from the prompt's attribute.
    const labels: Record<string, string> = {
      queued: this._trans.__('queued'),
      running: this._trans.__('running'),
      cancelling: this._trans.__('killing')
    };
    const prompt = cell.node.querySelector('.jp-InputPrompt');
    if (state === null) {
      cell.node.removeAttribute(CELL_STATE_ATTRIBUTE);
      prompt?.removeAttribute(CELL_LABEL_ATTRIBUTE);
      return;
    }
    cell.node.setAttribute(CELL_STATE_ATTRIBUTE, state);
    prompt?.setAttribute(CELL_LABEL_ATTRIBUTE, labels[state] ?? '');
  }

  /** Say so when a request has to wait for the foreground cell (ipykernel 6). */
  private _warnIfWaiting(link: KernelLink, type: string): void {
    if (link.concurrent || link.kernel.status !== 'busy') {
      return;
    }
    const message =
      type === 'kill'
        ? this._trans.__(
            'Kill queued: this kernel handles it when the running foreground cell ends (ipykernel 7 with JupyterLab ≥ 4.4 handles it at once).'
          )
        : type === 'submit'
          ? this._trans.__(
              'Job queued: this kernel starts it when the running foreground cell ends (ipykernel 7 with JupyterLab ≥ 4.4 starts it at once).'
            )
          : null;
    if (message) {
      Notification.info(message, { autoClose: 8000 });
    }
  }

  private _notify(effect: Extract<Effect, { kind: 'notify' }>): void {
    const started = this._started.get(effect.job_id);
    this._started.delete(effect.job_id);
    const seconds = started === undefined ? 0 : (Date.now() - started) / 1000;
    if (!this.notifications || seconds < this.notifyAfterSeconds) {
      return;
    }
    const actions = [
      {
        label: this._trans.__('Go to cell'),
        callback: () => this._goto(effect.notebook, effect.cell_id)
      }
    ];
    const message = this._trans.__('Background job %1: %2', effect.state, effect.title);
    const options = { autoClose: 5000, actions };
    if (effect.state === 'done') {
      Notification.success(message, options);
    } else if (effect.state === 'error' || effect.state === 'lost') {
      Notification.error(message, options);
    } else {
      Notification.warning(message, options);
    }
  }

  private _problem(message: string): void {
    console.warn('parallel-cell:', message);
    Notification.warning(message, { autoClose: 8000 });
  }

  private _panel(path: string | null): NotebookPanel | null {
    if (path === null) {
      return null;
    }
    return this._tracker.find(panel => panel.context.path === path) ?? null;
  }

  private _cell(path: string | null, cellId: string | null): Cell | null {
    const panel = this._panel(path);
    if (!panel || cellId === null) {
      return null;
    }
    return panel.content.widgets.find(cell => cell.model.id === cellId) ?? null;
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
    const live = (id: string) => LIVE_STATES.has(this._core.job_state(id) ?? '');
    if (owner === undefined || (!live(owner) && live(jobId))) {
      this._owner.set(cell.model.id, jobId);
      return true;
    }
    return false;
  }

  private _goto(path: string | null, cellId: string | null): void {
    const panel = this._panel(path);
    if (!panel) {
      return;
    }
    this._activate(panel);
    const notebook = panel.content;
    const index = notebook.widgets.findIndex(cell => cell.model.id === cellId);
    if (index >= 0) {
      notebook.activeCellIndex = index;
      void notebook.scrollToItem(index, 'smart');
    }
  }

  private readonly _tracker: INotebookTracker;
  private readonly _trans: TranslationBundle;
  private readonly _activate: (panel: NotebookPanel) => void;
  private readonly _links: KernelLinks;
  private readonly _writer = new OutputWriter();
  private readonly _started = new Map<string, number>();
  /** Kernels whose existence is being checked while their connection is down. */
  private readonly _checking = new WeakSet<Kernel.IKernelConnection>();
  /** Job id → its id on the wire, where they differ (adopted jobs). */
  private readonly _wireIds = new Map<string, string>();
  /** Cell model id → the job whose output the cell shows. */
  private readonly _owner = new Map<string, string>();
  private readonly _support = new WeakMap<Kernel.IKernelConnection, string | null>();
  private readonly _supportPending = new WeakMap<
    Kernel.IKernelConnection,
    Promise<string | null>
  >();
  private readonly _core: Core;
}
