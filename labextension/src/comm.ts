// The one module that talks to the kernel: it bootstraps the runtime with a silent
// execute, opens the versioned comm and carries messages both ways as data.
import { KernelAPI } from '@jupyterlab/services';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import { MessageBatch } from './batch';
import type { ClientMessage } from './effects';
import { COMM_TARGET, PROTOCOL_VERSION } from './protocol.generated';

/** What a kernel connection tells of subshells from JupyterLab 4.4 on. */
interface SubshellFields {
  supportsSubshells: boolean;
  commsOverSubshells: string;
}

export { COMM_TARGET, PROTOCOL_VERSION };

/** Why a kernel cannot host background jobs. */
export class UnsupportedKernelError extends Error {}

/** A Python expression: is the runtime loaded in this kernel? */
const RUNTIME_LOADED = "'_parallel_cell_runtime' in __import__('sys').modules";

/** Whether a kernel (by its kernel_info) can host the runtime: IPython on Python. */
export function isIPython(info: KernelMessage.IInfoReply): boolean {
  return info.implementation === 'ipython' && info.language_info?.name === 'python';
}

/**
 * Whether the runtime is already loaded in `kernel` (a page reload, a second tab). The
 * probe is a silent, empty execute with a user expression: no history, no execution
 * count, nothing in the namespace.
 */
export async function runtimeLoaded(kernel: Kernel.IKernelConnection): Promise<boolean> {
  const reply = await kernel.requestExecute({
    code: '',
    silent: true,
    store_history: false,
    user_expressions: { loaded: RUNTIME_LOADED }
  }).done;
  const content = reply.content as KernelMessage.IExecuteReply;
  const loaded = content.status === 'ok' ? content.user_expressions?.['loaded'] : undefined;
  const text = (loaded as { data?: Record<string, unknown> } | undefined)?.data?.['text/plain'];
  return text === 'True';
}

/** The user's runtime settings, as the `configure` message carries them. */
export type RuntimeSettings = Extract<ClientMessage, { type: 'configure' }>;

/** Where a tab keeps the ids of the comms it closed while going away (a reload). */
const CLOSED_COMMS_KEY = 'parallel-cell:closed-comms';

function readClosedComms(): Record<string, string[]> {
  try {
    const stored = JSON.parse(window.sessionStorage.getItem(CLOSED_COMMS_KEY) ?? '{}');
    return stored && typeof stored === 'object' && !Array.isArray(stored) ? stored : {};
  } catch {
    return {};
  }
}

function writeClosedComms(closed: Record<string, string[]>): void {
  try {
    if (Object.keys(closed).length) {
      window.sessionStorage.setItem(CLOSED_COMMS_KEY, JSON.stringify(closed));
    } else {
      window.sessionStorage.removeItem(CLOSED_COMMS_KEY);
    }
  } catch {
    // No storage (private mode, quota): the kernel then keeps a comm until it restarts.
  }
}

/** Remember, per kernel, the comms this tab closes as it goes away. */
function rememberClosedComms(byKernel: Map<string, string>): void {
  const closed = readClosedComms();
  for (const [kernelId, commId] of byKernel) {
    closed[kernelId] = [...(closed[kernelId] ?? []), commId].slice(-16);
  }
  writeClosedComms(closed);
}

/** The comms this tab closed in kernel `kernelId` before a reload (forgotten once read). */
function takeClosedComms(kernelId: string): string[] {
  const closed = readClosedComms();
  const ids = Array.isArray(closed[kernelId]) ? closed[kernelId] : [];
  delete closed[kernelId];
  writeClosedComms(closed);
  return ids.filter(id => typeof id === 'string');
}

/**
 * Whether the server still has `kernel`: `false` when it answers that the kernel is gone
 * (e.g. the server restarted, its kernels with it), `undefined` while it cannot be asked.
 */
export async function kernelExists(kernel: Kernel.IKernelConnection): Promise<boolean | undefined> {
  try {
    return (await KernelAPI.getKernelModel(kernel.id, kernel.serverSettings)) !== undefined;
  } catch {
    return undefined; // the server is not reachable (yet)
  }
}

/** Whether a comm message from the runtime is, or holds, a `jobs` list. */
function isJobList(data: unknown): boolean {
  const isJobs = (m: unknown) => (m as { type?: unknown } | null)?.type === 'jobs';
  return Array.isArray(data) ? data.some(isJobs) : isJobs(data);
}

/** A live link to one kernel's runtime. */
export class KernelLink {
  constructor(
    readonly kernel: Kernel.IKernelConnection,
    private readonly onMessage: (kernelId: string, data: unknown) => void,
    private readonly settings: () => RuntimeSettings | null
  ) {
    // Messages can be lost while the websocket reconnects: ask the kernel what it has
    // (the core then replays missing outputs and catches up on ended jobs).
    kernel.connectionStatusChanged.connect((_, status) => {
      if (status !== 'connected') {
        this._interrupted = true;
        // What the core sends from now on waits until the comm is known to be open:
        // JupyterLab would send it on reconnect, maybe into a comm the server closed.
        if (this._comm) {
          this._held ??= [];
          this._unconfirmed ??= [];
        }
      } else if (this._interrupted) {
        this._interrupted = false;
        if (this._comm && this.connected) {
          this._comm.send({ type: 'list' } as any);
        }
        void this._relinkIfClosed();
      }
    });
  }

  /** Send what waited for the comm to be known open, in order. */
  private _release(): void {
    const held = this._held ?? [];
    this._held = null;
    for (const message of held) {
      this.send(message);
    }
  }

  /**
   * A page away longer than the server's comm grace (a laptop asleep) finds its comm
   * closed by the server, and no message says so: ask the kernel, and open a new one
   * (its `hello` makes the core list and replay what this page missed).
   */
  private async _relinkIfClosed(): Promise<void> {
    const comm = this._comm;
    if (!comm || !this.connected) {
      this._unconfirmed = null;
      this._release();
      return;
    }
    try {
      const reply = await this.kernel.requestCommInfo({ target_name: COMM_TARGET });
      const content = reply.content as { status: string; comms?: Record<string, unknown> };
      if (this._comm !== comm) {
        return; // reset meanwhile (a restart)
      }
      if (content.status !== 'ok' || comm.commId in (content.comms ?? {})) {
        this._unconfirmed = null;
        this._release();
        return;
      }
      this._replaced.push(comm.commId);
      comm.dispose(); // closed in the kernel already: nothing to send
      // What went into the closed comm since the drop (a `jobs` the server had buffered
      // from before it can release the held sends early) goes again, on the new comm.
      const held = [...(this._unconfirmed ?? []), ...(this._held ?? [])];
      this.reset();
      this._held = held;
      await this.ready; // what was held goes out on the new comm
    } catch (error) {
      console.debug('parallel-cell: no new comm after a reconnect', this.kernel.id, error);
      this._unconfirmed = null;
      this._release();
    }
  }

  /** Resolves once the runtime is bootstrapped and the comm is open. */
  get ready(): Promise<void> {
    if (!this._ready) {
      this._ready = this._connect();
      // A failed connection may be retried by the next command.
      this._ready.catch(() => {
        this._ready = null;
      });
    }
    return this._ready;
  }

  /**
   * Whether the kernel handles our messages while a foreground cell runs: only when
   * JupyterLab sends comm traffic over a kernel subshell (ipykernel ≥ 7). Otherwise a
   * message waits until the kernel is idle.
   */
  get concurrent(): boolean {
    // Both fields are JupyterLab ≥ 4.4's; before, there are no subshells.
    const kernel = this.kernel as Kernel.IKernelConnection & Partial<SubshellFields>;
    return (
      kernel.supportsSubshells === true &&
      (kernel.commsOverSubshells ?? 'perCommTarget') !== 'disabled'
    );
  }

  /** Send a protocol message; returns false when the link is not open. */
  send(message: ClientMessage): boolean {
    if (this._held) {
      this._held.push(message);
      return true;
    }
    if (!this._comm || !this.connected) {
      return false;
    }
    this._unconfirmed?.push(message);
    this._batch.add(message);
    return true;
  }

  /**
   * While `on`, what is sent waits (a submission of many cells, across its slices),
   * within the bounds of `MessageBatch`; the last `gather(false)` sends it.
   */
  gather(on: boolean): void {
    this._batch.gather(on);
  }

  /** Forget the comm (kernel restarted or died): the next use reconnects. */
  reset(): void {
    this._held = null;
    this._unconfirmed = null;
    this._batch.clear();
    this._comm = null;
    this._ready = null;
  }

  /** The open comm's id, if any. */
  get commId(): string | null {
    return this.connected ? (this._comm?.commId ?? null) : null;
  }

  dispose(): void {
    if (this._comm && !this._comm.isDisposed && !this.kernel.isDisposed) {
      try {
        this._comm.close();
      } catch {
        // The kernel may already be gone; nothing to close then.
      }
    }
    this.reset();
  }

  private async _connect(): Promise<void> {
    const info = await this.kernel.info;
    if (!isIPython(info)) {
      const language = info.language_info?.name || 'unknown language';
      throw new UnsupportedKernelError(
        `Background jobs need an IPython kernel; this one is "${info.implementation}" (${language}).`
      );
    }
    // The runtime's source (~100 KB of the bundle) loads when a kernel first needs it,
    // not with JupyterLab.
    const { BOOTSTRAP_CODE } = await import('./bootstrap.generated');
    const future = this.kernel.requestExecute({
      code: BOOTSTRAP_CODE,
      silent: true,
      store_history: false,
      allow_stdin: false,
      stop_on_error: false
    });
    const reply = (await future.done) as KernelMessage.IExecuteReplyMsg;
    const content = reply.content;
    if (content.status === 'error') {
      throw new UnsupportedKernelError(
        `The parallel-cell runtime could not start in this kernel: ${content.ename}: ${content.evalue}`
      );
    }
    if (content.status !== 'ok') {
      throw new Error(`The parallel-cell runtime did not start (status: ${content.status}).`);
    }
    const comm = this.kernel.createComm(COMM_TARGET);
    const kernelId = this.kernel.id;
    // Keep onMsg synchronous: the wasm core handles the message at once.
    comm.onMsg = msg => {
      const data = msg.content.data;
      // The answer to the `list` sent on reconnect: the comm is open. (Or a `jobs` the
      // server buffered from before the drop, replayed first: then what goes out now is
      // kept until the comm-info check, and sent again on a new comm if this one closed.)
      if (this._held && this._comm === comm && isJobList(data)) {
        this._release();
      }
      this.onMessage(kernelId, data);
    };
    comm.onClose = () => {
      if (this._comm === comm) {
        this._comm = null;
        this._ready = null;
      }
    };
    this._comm = comm;
    // This tab's comms from before a reload, whose close may not have reached the kernel.
    const replaces = [...takeClosedComms(this.kernel.id), ...this._replaced.splice(0)];
    await comm.open({ protocol: PROTOCOL_VERSION, replaces }).done;
    this._release();
    const settings = this.settings();
    if (settings) {
      this.send(settings);
    }
  }

  /** Whether the comm is open. */
  get connected(): boolean {
    return !!this._comm && !this._comm.isDisposed && !this.kernel.isDisposed;
  }

  private _comm: Kernel.IComm | null = null;
  /** What is sent within a task (or while gathering) leaves as one comm message. */
  private readonly _batch = new MessageBatch(data => {
    if (this._comm && this.connected) {
      this._comm.send(data as any);
    }
  });
  private _ready: Promise<void> | null = null;
  private _interrupted = false;
  /** Messages waiting, after the connection dropped, until the comm is known open. */
  private _held: ClientMessage[] | null = null;
  /** Sent since the connection dropped, until the comm is known open (then null). */
  private _unconfirmed: ClientMessage[] | null = null;
  /** Comms of this link the kernel closed, named when the next one opens. */
  private readonly _replaced: string[] = [];
}

/** One link per kernel, created on first use. */
export class KernelLinks {
  constructor(private readonly onMessage: (kernelId: string, data: unknown) => void) {}

  get(kernelId: string): KernelLink | undefined {
    return this._links.get(kernelId);
  }

  /** The link for `kernel`, connected (bootstrap + comm open) before it resolves. */
  async connect(kernel: Kernel.IKernelConnection): Promise<KernelLink> {
    let link = this._links.get(kernel.id);
    if (!link || link.kernel !== kernel) {
      link?.dispose();
      link = new KernelLink(kernel, this.onMessage, () => this._settings);
      this._links.set(kernel.id, link);
    }
    await link.ready;
    return link;
  }

  /** Send the user's runtime settings to every connected kernel, and to later ones. */
  configure(settings: RuntimeSettings): void {
    this._settings = settings;
    for (const link of this._links.values()) {
      if (link.connected) {
        link.send(settings);
      }
    }
  }

  /** Close every comm (the page is going away), so kernels stop sending to it. */
  closeAll(): void {
    const open = new Map<string, string>();
    for (const [kernelId, link] of this._links) {
      if (link.commId) {
        open.set(kernelId, link.commId);
      }
    }
    rememberClosedComms(open);
    for (const link of this._links.values()) {
      link.dispose();
    }
    this._links.clear();
  }

  /** The kernel restarted, died or was replaced: its comm is gone. */
  drop(kernelId: string): void {
    this._links.get(kernelId)?.reset();
  }

  private readonly _links = new Map<string, KernelLink>();
  private _settings: RuntimeSettings | null = null;
}
