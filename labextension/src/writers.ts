// Which page writes job outputs into a shared notebook. With real-time collaboration
// (jupyter-collaboration) every page of a notebook edits one shared document and every
// page hears the kernel's job messages: if each wrote, each line would land once per
// page. So the pages holding a notebook elect one writer through the document's
// awareness (each says it can write; the lowest client id writes). Without
// collaboration a page's document is its own, and it is always the writer.
import type { NotebookPanel } from '@jupyterlab/notebook';

/** The field a page sets in its awareness state while it can write job outputs. */
const AWARENESS_FIELD = 'parallelCellWriter';

/** The part of a Yjs awareness the election uses. */
interface IAwareness {
  clientID: number;
  getStates(): Map<number, Record<string, unknown>>;
  setLocalStateField(field: string, value: unknown): void;
  on(event: 'change', handler: () => void): void;
  off(event: 'change', handler: () => void): void;
}

function awarenessOf(panel: NotebookPanel): IAwareness | null {
  const model = panel.context.model;
  if (!model?.collaborative) {
    return null;
  }
  const awareness = (model.sharedModel as unknown as { awareness?: IAwareness }).awareness;
  return awareness && typeof awareness.getStates === 'function' ? awareness : null;
}

/** The writer election of each notebook this page shows. */
export class NotebookWriters {
  /**
   * @param onBecameWriter called when this page takes over writing a notebook whose
   * outputs another page wrote until now (it catches up from the cells' replay marks).
   */
  constructor(private readonly onBecameWriter: (panel: NotebookPanel) => void) {}

  /** Take part in `panel`'s election (idempotent). */
  watch(panel: NotebookPanel): void {
    if (this._watched.has(panel)) {
      return;
    }
    this._watched.add(panel);
    void panel.context.ready.then(() => {
      const awareness = awarenessOf(panel);
      if (!awareness || panel.isDisposed) {
        return;
      }
      awareness.setLocalStateField(AWARENESS_FIELD, true);
      let was = this.isWriter(panel);
      const changed = () => {
        const now = this.isWriter(panel);
        if (now && !was) {
          this.onBecameWriter(panel);
        }
        was = now;
      };
      awareness.on('change', changed);
      panel.disposed.connect(() => {
        awareness.off('change', changed);
        try {
          awareness.setLocalStateField(AWARENESS_FIELD, false);
        } catch {
          // The shared document may be gone with the panel.
        }
      });
    });
  }

  /** Whether this page writes job outputs into `panel`'s notebook. */
  isWriter(panel: NotebookPanel): boolean {
    const awareness = awarenessOf(panel);
    if (!awareness) {
      return true;
    }
    let lowest = awareness.clientID;
    for (const [client, state] of awareness.getStates()) {
      if (state?.[AWARENESS_FIELD] === true && client < lowest) {
        lowest = client;
      }
    }
    return lowest === awareness.clientID;
  }

  private readonly _watched = new WeakSet<NotebookPanel>();
}
