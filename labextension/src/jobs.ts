// Carries the wasm core's effects out into JupyterLab: kernel links, cells (cells.ts),
// kernels (kernels.ts), notifications. No job logic lives here.
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import type { Cell, ICodeCellModel } from '@jupyterlab/cells';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { TranslationBundle } from '@jupyterlab/translation';
import { UUID } from '@lumino/coreutils';
import { JobCells } from './cells';
import { KernelLink, KernelLinks, RuntimeSettings } from './comm';
import type { Effect, Target } from './effects';
import { KernelWatch } from './kernels';
import { Core } from './wasm';

export interface IJobsOptions {
  tracker: INotebookTracker;
  root: HTMLElement;
  trans: TranslationBundle;
  /** Bring a notebook panel to the front. */
  activate: (panel: NotebookPanel) => void;
  /** A notebook's kernel changed or became ready. */
  kernelChanged?: () => void;
  /** Show a job's row in the panel. */
  showJob?: (jobId: string) => void;
  /** Save a job's logged text beside its notebook; resolves to the file's path. */
  saveText?: (notebook: string | null, num: number | null, text: string) => Promise<string>;
  /** Open a file in JupyterLab. */
  openFile?: (path: string) => void;
}

type TextEffect = Extract<Effect, { kind: 'output_text' }>;

type ConflictEffect = Extract<Effect, { kind: 'conflict' }>;

/** A submission of many cells yields to the page after this long (ms). */
const SUBMIT_SLICE_MS = 8;

/** …and leaves the page this long to itself before the next slice (ms). */
const SUBMIT_PAUSE_MS = 12;

/** Conflict warnings arriving this close together are one event (one cell, many jobs). */
const CONFLICT_GATHER_MS = 100;

/** The background jobs of this page: one wasm core, one link per kernel. */
export class BackgroundJobs {
  constructor(options: IJobsOptions) {
    this._trans = options.trans;
    this._showJob = options.showJob ?? (() => undefined);
    this._saveText = options.saveText;
    this._openFile = options.openFile ?? (() => undefined);
    this._links = new KernelLinks((kernelId, data) => this._core.receive(kernelId, data));
    this._core = new Core(options.root, (effect: Effect) => this._onEffect(effect));
    // The panel's words, through JupyterLab's translator.
    const words: Record<string, string> = {};
    for (const english of this._core.strings() as string[]) {
      words[english] = this._trans.__(english);
    }
    this._core.set_strings(words);
    this._cells = new JobCells(
      options.tracker,
      this._trans,
      {
        state: jobId => this._core.job_state(jobId),
        replay: (jobId, since) => this._core.replay(jobId, since),
        sourceHash: source => this._core.source_hash(source),
        rebindCell: (jobId, cellId) => this._core.rebind_cell(jobId, cellId),
        cellNote: (jobId, note) => this._core.set_cell_note(jobId, note),
        renameNotebook: (from, to) => this._core.rename_notebook(from, to)
      },
      options.activate
    );
    this._kernels = new KernelWatch(
      options.tracker,
      this._links,
      this._trans,
      kernelId => this._core.kernel_lost(kernelId),
      options.kernelChanged ?? (() => undefined)
    );
    // The runtime sends every job's messages to each open comm: close ours when the page
    // goes away, or each reload would add one more receiver of all that traffic.
    window.addEventListener('pagehide', () => this._links.closeAll());
  }

  /** Notifications on job end (a setting). */
  notifications = true;
  /** No notification for jobs that ended faster than this (a setting). */
  notifyAfterSeconds = 0;
  /** Characters a cell shows of one output stream (a setting). */
  set streamLimit(chars: number) {
    this._cells.writer.streamLimit = chars;
  }

  /** The runtime settings each kernel gets (now, and when it connects later). */
  configureRuntime(settings: Omit<RuntimeSettings, 'type'>): void {
    this._links.configure({ type: 'configure', ...settings });
  }

  /**
   * Submit the given code cells of `panel` (in notebook order) as background jobs: in
   * threads of the kernel, or on the kernel's Dask cluster (`target` "dask"). As a chain
   * (each runs once the one before ended `done`; the kernel ends the rest unrun when one
   * fails), or side by side (`chain` false: independent jobs).
   */
  async runInBackground(
    panel: NotebookPanel,
    cells: readonly Cell[],
    target: Target = 'thread',
    chain = true
  ): Promise<string[]> {
    const kernel = panel.sessionContext.session?.kernel;
    if (!kernel) {
      throw new Error(this._trans.__('This notebook has no running kernel.'));
    }
    const reason = await this._kernels.supported(kernel);
    if (reason) {
      throw new Error(this._trans.__('Background jobs are unavailable here: %1', reason));
    }
    const link = await this._links.connect(kernel);
    const ids: string[] = [];
    let slice = performance.now();
    // The slices' submissions leave together, in a few comm messages (`MessageBatch`).
    link.gather(true);
    try {
      for (const cell of cells) {
        if (cell.isDisposed || cell.model.type !== 'code') {
          continue; // deleted while earlier slices went out, or not code
        }
        if (performance.now() - slice > SUBMIT_SLICE_MS) {
          // Hundreds of cells: let the page draw and take input between slices.
          await new Promise(resolve => window.setTimeout(resolve, SUBMIT_PAUSE_MS));
          slice = performance.now();
        }
        const model = cell.model as ICodeCellModel;
        const jobId = UUID.uuid4();
        this._cells.claim(model, jobId);
        this._core.submit(
          jobId,
          kernel.id,
          panel.context.path,
          model.id,
          model.sharedModel.getSource(),
          chain ? ids[ids.length - 1] : undefined,
          target
        );
        ids.push(jobId);
      }
    } finally {
      link.gather(false);
    }
    return ids;
  }

  /**
   * Why the notebook's kernel cannot run background jobs, `null` when it can, or
   * `undefined` while that is not known yet (`changed` is then called once it is).
   */
  unsupportedReason(panel: NotebookPanel, changed: () => void): string | null | undefined {
    return this._kernels.unsupportedReason(panel, changed);
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
      case 'outputs':
        this._cells.outputs(effect);
        return;
      case 'adopted':
        this._cells.adopted(effect);
        return;
      case 'cell_state': {
        const now = Date.now();
        if (effect.state === 'running' && !this._started.has(effect.job_id)) {
          this._started.set(effect.job_id, now);
        }
        this._cells.state(effect, now);
        return;
      }
      case 'notify':
        this._notify(effect);
        return;
      case 'conflict':
        this._gatherConflict(effect);
        return;
      case 'goto_cell':
        this._cells.goto(effect.notebook, effect.cell_id);
        return;
      case 'confirm_restart':
        void this._confirmRestart(effect.job_id, effect.worker);
        return;
      case 'problem':
        this._problem(effect.message);
        return;
      case 'output_text':
        this._gatherText(effect);
        return;
    }
  }

  /** "Save output": the parts of a job's text come in order; the last saves the file. */
  private _gatherText(effect: TextEffect): void {
    const parts = this._texts.get(effect.job_id) ?? [];
    parts.push(effect.text);
    if (!effect.last) {
      this._texts.set(effect.job_id, parts);
      return;
    }
    this._texts.delete(effect.job_id);
    void this._saveJobText(effect, parts.join(''));
  }

  private async _saveJobText(effect: TextEffect, text: string): Promise<void> {
    const job = String(effect.num ?? '');
    try {
      if (!this._saveText) {
        throw new Error(this._trans.__('this page cannot write files'));
      }
      const path = await this._saveText(effect.notebook, effect.num, text);
      Notification.success(this._trans.__('Saved the output of job %1 to %2', job, path), {
        autoClose: 8000,
        actions: [{ label: this._trans.__('Open'), callback: () => this._openFile(path) }]
      });
    } catch (error) {
      this._problem(this._trans.__('Could not save the output of job %1: %2', job, String(error)));
    }
  }

  /** A cluster job that does not stop: restarting its worker is the last resort. */
  private async _confirmRestart(jobId: string, worker: string): Promise<void> {
    const result = await showDialog({
      title: this._trans.__('Restart the Dask worker?'),
      // Kernel text as text: the dialog body is a string, never markup.
      body: this._trans.__(
        'The job does not stop: it never reaches parallel_cell.checkpoint(), time.sleep or print. Restarting worker %1 ends it. Anything else running on that worker is interrupted too: other cluster jobs end with an error, other Dask work runs again elsewhere.',
        worker
      ),
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: this._trans.__('Restart worker') })
      ]
    });
    if (result.button.accept) {
      this._core.restart_worker(jobId);
    }
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
        callback: () => this._cells.goto(effect.notebook, effect.cell_id)
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

  private _gatherConflict(effect: ConflictEffect): void {
    this._conflicts.push(effect);
    if (this._conflictTimer === null) {
      this._conflictTimer = window.setTimeout(() => {
        this._conflictTimer = null;
        const gathered = this._conflicts.splice(0);
        const bys = new Set(gathered.map(c => c.by ?? ''));
        for (const by of bys) {
          this._warnConflict(gathered.filter(c => (c.by ?? '') === by));
        }
      }, CONFLICT_GATHER_MS);
    }
  }

  /** One warning for what one cell (or job) rebinds: the names, the jobs that use them. */
  private _warnConflict(conflicts: ConflictEffect[]): void {
    const names = [...new Set(conflicts.flatMap(c => c.names))].join(', ');
    const jobs = conflicts.map(c => c.job).join('; ');
    const by = conflicts[0].by;
    const message =
      by === null
        ? conflicts.length === 1
          ? this._trans.__('A cell rebinds %1, which background %2 uses.', names, jobs)
          : this._trans.__('A cell rebinds %1, which these background jobs use: %2.', names, jobs)
        : this._trans.__('Background %1 rebinds %2, which %3 uses.', by, names, jobs);
    const first = conflicts[0].job_id;
    Notification.warning(message, {
      autoClose: 10000,
      actions: [{ label: this._trans.__('Go to job'), callback: () => this._showJob(first) }]
    });
  }

  private _problem(message: string): void {
    console.warn('parallel-cell:', message);
    Notification.warning(message, { autoClose: 8000 });
  }

  private readonly _trans: TranslationBundle;
  private readonly _saveText: IJobsOptions['saveText'];
  private readonly _openFile: (path: string) => void;
  private readonly _texts = new Map<string, string[]>();
  private readonly _links: KernelLinks;
  private readonly _cells: JobCells;
  private readonly _kernels: KernelWatch;
  private readonly _started = new Map<string, number>();
  private readonly _showJob: (jobId: string) => void;
  private readonly _conflicts: ConflictEffect[] = [];
  private _conflictTimer: number | null = null;
  private readonly _core: Core;
}
