// Messages to one kernel's comm, sent together: each comm message costs the kernel a
// busy/idle round, and the page redraws the kernel's status (toolbar, status bar,
// favicon) twice for it.
import type { ClientMessage } from './effects';

/**
 * While a submission gathers, what waits leaves once the first of it is this old (ms),
 * or once this much code waits (characters), and at the submission's end. Measured on
 * 1,000 cells (timer lag p95, cold pages): a message per slice 22–56 ms in 6 pages; this
 * way 16–28 ms in 3, and the cells all submitted sooner (266–290 ms against 337–465).
 */
export const GATHER_SEND_MS = 250;
export const GATHER_SEND_CHARS = 512 * 1024;

/** The code a message carries, if any: what makes a message big. */
function codeLength(message: ClientMessage): number {
  const code = (message as { code?: unknown }).code;
  return typeof code === 'string' ? code.length : 0;
}

/**
 * What is added within one task (a slice of many submissions) goes out as one comm
 * message, after the task. While gathering (a submission of many cells, across its
 * slices) it waits longer, bounded by `GATHER_SEND_MS` and `GATHER_SEND_CHARS`.
 */
export class MessageBatch {
  /** `deliver` sends one comm message: a message alone, or a list of them. */
  constructor(private readonly deliver: (data: ClientMessage | ClientMessage[]) => void) {}

  add(message: ClientMessage): void {
    if (!this._waiting) {
      this._waiting = [];
      this._since = performance.now();
      this._chars = 0;
      if (this._gathering === 0) {
        queueMicrotask(() => this.send());
      }
    }
    this._waiting.push(message);
    this._chars += codeLength(message);
    if (
      this._gathering > 0 &&
      (this._chars > GATHER_SEND_CHARS || performance.now() - this._since > GATHER_SEND_MS)
    ) {
      this.send();
    }
  }

  /**
   * While `on`, what is added waits (within the bounds above); the last `gather(false)`
   * sends it. Gatherings may overlap: they count, so the first to end does not stop the
   * other's.
   */
  gather(on: boolean): void {
    this._gathering = Math.max(0, this._gathering + (on ? 1 : -1));
    if (this._gathering === 0) {
      this.send();
    }
  }

  /** Send what waits now. */
  send(): void {
    const waiting = this._waiting ?? [];
    this._waiting = null;
    if (waiting.length > 0) {
      this.deliver(waiting.length === 1 ? waiting[0] : waiting);
    }
  }

  /** Forget what waits (the comm is gone). Gatherings under way still count. */
  clear(): void {
    this._waiting = null;
  }

  private _waiting: ClientMessage[] | null = null;
  /** When the first of what waits was added (ms). */
  private _since = 0;
  /** Characters of code waiting. */
  private _chars = 0;
  /** Gatherings under way (two submissions may overlap). */
  private _gathering = 0;
}
