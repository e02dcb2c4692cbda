// Which kernels can host background jobs, and what happens to them: reattaching after a
// reload, a notebook closed (its kernel lives on), a kernel restarted, changed or gone.
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { Kernel } from '@jupyterlab/services';
import type { TranslationBundle } from '@jupyterlab/translation';
import { isIPython, kernelExists, KernelLinks, runtimeLoaded } from './comm';

/** Watches the notebooks' kernels for the jobs they run. */
export class KernelWatch {
  constructor(
    private readonly tracker: INotebookTracker,
    private readonly links: KernelLinks,
    private readonly trans: TranslationBundle,
    /** The kernel restarted, died or was replaced: its unfinished jobs are lost. */
    private readonly onLost: (kernelId: string) => void,
    /** A notebook's kernel changed or became ready (whether jobs can run may differ). */
    private readonly onChanged: () => void
  ) {
    tracker.widgetAdded.connect((_, panel) => this._watch(panel));
    tracker.forEach(panel => this._watch(panel));
  }

  /**
   * Why the notebook's kernel cannot run background jobs, `null` when it can, or
   * `undefined` while that is not known yet (`changed` is then called once it is).
   */
  unsupportedReason(panel: NotebookPanel, changed: () => void): string | null | undefined {
    const kernel = panel.sessionContext.session?.kernel;
    if (!kernel) {
      return this.trans.__('the notebook has no running kernel');
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
            : this.trans.__('needs an IPython kernel, this one is "%1"', info.implementation);
          this._support.set(kernel, reason);
          return reason;
        },
        () => this.trans.__('the kernel did not say what it is')
      );
      this._supportPending.set(kernel, pending);
    }
    return pending;
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
      this.onChanged();
      if (change.oldValue) {
        this._lost(change.oldValue.id);
      }
      kernel = change.newValue;
      if (kernel) {
        this._listen(kernel);
        void this._reattach(kernel);
      }
    });
    // The cells must be there before the kernel's jobs are matched to them.
    void Promise.all([session.ready, panel.context.ready]).then(() => {
      this.onChanged();
      const current = session.session?.kernel;
      if (current) {
        this._listen(current);
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
        await this.links.connect(kernel);
      }
    } catch (error) {
      console.debug('parallel-cell: no reattach to kernel', kernel.id, error);
    }
  }

  /**
   * A page that opened a notebook before its kernel ran any job (a second tab, a
   * colleague on a shared notebook) is not linked to the runtime. The kernel's job
   * messages to other pages reach every page on iopub: when one shows up, link too, so
   * this page's panel and cells follow the jobs as well.
   */
  private _listen(kernel: Kernel.IKernelConnection): void {
    if (this._listening.has(kernel)) {
      return;
    }
    this._listening.add(kernel);
    let linking = false;
    kernel.iopubMessage.connect((_, msg) => {
      if (linking || msg.header.msg_type !== 'comm_msg' || this.links.get(kernel.id)?.connected) {
        return;
      }
      // A list is several messages the kernel sent in one go.
      const sent = (msg.content as { data?: unknown }).data;
      const isJobMessage = (m: unknown): boolean => {
        const data = m as { type?: unknown; job_id?: unknown } | null;
        return typeof data?.type === 'string' && typeof data.job_id === 'string';
      };
      if (Array.isArray(sent) ? sent.some(isJobMessage) : isJobMessage(sent)) {
        linking = true;
        void this._reattach(kernel).finally(() => (linking = false));
      }
    });
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
    const link = this.links.get(kernelId);
    if (!link || !link.kernel.isDisposed) {
      return;
    }
    this.links.drop(kernelId);
    const other = this.tracker.find(
      p => p !== closed && !p.isDisposed && p.sessionContext.session?.kernel?.id === kernelId
    );
    const kernel = other?.sessionContext.session?.kernel;
    if (kernel) {
      void this._reattach(kernel);
    }
  }

  private _lost(kernelId: string): void {
    this.links.drop(kernelId);
    this.onLost(kernelId);
  }

  /** Kernels whose iopub is watched for other pages' jobs. */
  private readonly _listening = new WeakSet<Kernel.IKernelConnection>();
  /** Kernels whose existence is being checked while their connection is down. */
  private readonly _checking = new WeakSet<Kernel.IKernelConnection>();
  private readonly _support = new WeakMap<Kernel.IKernelConnection, string | null>();
  private readonly _supportPending = new WeakMap<
    Kernel.IKernelConnection,
    Promise<string | null>
  >();
}
