// Which open notebook a job's path names. A job keeps the path it was started under, and
// its notebook can be renamed while it runs, or before a page reloads.
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

/** The open notebooks by path, renames followed. */
export class NotebookPaths {
  constructor(
    private readonly tracker: INotebookTracker,
    /** A notebook's path changed from `from` to `to` (its jobs follow). */
    private readonly moved: (from: string, to: string) => void
  ) {
    tracker.widgetAdded.connect((_, panel) => this._follow(panel));
    tracker.forEach(panel => this._follow(panel));
  }

  /** The open notebook at `path`, or at the path the notebook at `path` was renamed to. */
  panel(path: string | null): NotebookPanel | null {
    for (let hops = 0; path !== null && hops < 16; hops++) {
      const found = this.tracker.find(panel => panel.context.path === path);
      if (found) {
        return found;
      }
      path = this._moved.get(path) ?? null;
    }
    return null;
  }

  /**
   * A job the kernel lists under `path`, which no open notebook has: if exactly one open
   * notebook on its kernel has its cell, that notebook was renamed (before this page
   * loaded): `path` names it from now on. Other notebooks may share the kernel (a
   * scratch notebook on the same kernel); two that both have the cell (a copy of the
   * notebook) leave it unknown.
   */
  adopt(path: string | null, kernelId: string, cellId: string | null): void {
    if (path === null || cellId === null || this.panel(path)) {
      return;
    }
    const holders: NotebookPanel[] = [];
    this.tracker.forEach(panel => {
      if (
        panel.sessionContext.session?.kernel?.id === kernelId &&
        panel.content.widgets.some(cell => cell.model.id === cellId)
      ) {
        holders.push(panel);
      }
    });
    if (holders.length === 1) {
      this._move(path, holders[0].context.path);
    }
  }

  private _follow(panel: NotebookPanel): void {
    let path = panel.context.path;
    panel.context.pathChanged.connect((_, now) => {
      if (now !== path) {
        this._move(path, now);
        path = now;
      }
    });
  }

  private _move(from: string, to: string): void {
    this._moved.set(from, to);
    this.moved(from, to);
  }

  /** A notebook's earlier path → the path it was renamed to. The core names the new
   * path from the rename on; this serves effects it made before (a batch being handled). */
  private readonly _moved = new Map<string, string>();
}
