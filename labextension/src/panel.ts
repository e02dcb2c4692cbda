// The sidebar widget that hosts the wasm-rendered jobs panel.
import type { TranslationBundle } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

/** Panel id (UI contract). */
export const PANEL_ID = 'parallel-cell-jobs';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
  '<g class="jp-icon3" fill="#616161">' +
  '<path d="M3 5h11v2H3zm0 6h11v2H3zm0 6h11v2H3z"/>' +
  '<path d="M18 4a1 1 0 0 1 1 1v6.6l2.7 1.6-1 1.7L17 12.7V5a1 1 0 0 1 1-1z"/>' +
  '</g></svg>';

export const jobsIcon = new LabIcon({ name: 'parallel-cell:jobs', svgstr: ICON_SVG });

/** A sidebar whose body the wasm core renders into. */
export class JobsPanel extends Widget {
  constructor(trans: TranslationBundle) {
    super();
    this.id = PANEL_ID;
    this.addClass('pc-JobsPanel');
    this.title.icon = jobsIcon;
    this.title.caption = trans.__('Background Jobs');
    this.title.label = trans.__('Background Jobs');
    const heading = document.createElement('h2');
    heading.className = 'pc-JobsPanel-heading';
    heading.textContent = trans.__('Background Jobs');
    this.root = document.createElement('div');
    this.root.className = 'pc-JobsPanel-body';
    this.node.append(heading, this.root);
  }

  /** Bring a job's row into view and mark it for a moment (a "Go to job" action). */
  showJob(jobId: string): void {
    const row = this.root.querySelector<HTMLElement>(`[data-job-id="${CSS.escape(jobId)}"]`);
    if (!row) {
      return;
    }
    row.scrollIntoView({ block: 'nearest' });
    row.classList.add('pc-job-shown');
    window.setTimeout(() => row.classList.remove('pc-job-shown'), 2000);
  }

  /** Where the wasm core renders the job list. */
  readonly root: HTMLElement;
}
