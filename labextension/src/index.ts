// Plugin wiring only: commands, the sidebar, settings. Logic lives in the wasm core.
import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import type { Target } from './effects';
import { saveJobText } from './files';
import type { BackgroundJobs } from './jobs';
import { JobsPanel, PANEL_ID, jobsIcon } from './panel';

const PLUGIN_ID = 'parallel-cell:plugin';

type CommandOptions = Parameters<JupyterFrontEnd['commands']['addCommand']>[1];

/** Command ids (UI contract, see docs/architecture.md and README.md). */
export namespace CommandIDs {
  export const runInBackground = 'parallel-cell:run-in-background';
  export const runOnCluster = 'parallel-cell:run-on-cluster';
  export const runSideBySide = 'parallel-cell:run-side-by-side';
  export const killJob = 'parallel-cell:kill-job';
  export const killAll = 'parallel-cell:kill-all';
  export const clearFinished = 'parallel-cell:clear-finished';
  export const openPanel = 'parallel-cell:open-panel';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Run notebook cells in the background, inside the notebook kernel.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ISettingRegistry, ITranslator, ICommandPalette, ILabShell],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    settings: ISettingRegistry | null,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    labShell: ILabShell | null
  ) => {
    const trans = (translator ?? nullTranslator).load('parallel_cell');
    const panel = new JobsPanel(trans);
    // Commands exist before the wasm loads, so menus built from settings find them.
    let jobs: BackgroundJobs | null = null;

    const currentCodeCells = (notebookPanel: NotebookPanel) => {
      const notebook = notebookPanel.content;
      return notebook.widgets.filter(
        cell => cell.model.type === 'code' && notebook.isSelectedOrActive(cell)
      );
    };

    const refresh = () => {
      app.commands.notifyCommandChanged(CommandIDs.runInBackground);
      app.commands.notifyCommandChanged(CommandIDs.runOnCluster);
      app.commands.notifyCommandChanged(CommandIDs.runSideBySide);
    };
    let shownOnce = false;

    const current = () => tracker.currentWidget;

    /** Why the current notebook cannot run background jobs (null: it can, or unknown). */
    const unsupported = (): string | null => {
      const widget = current();
      return (widget && jobs?.unsupportedReason(widget, refresh)) || null;
    };

    /** Where Run in Background sends cells (a setting); Run on Cluster: always Dask. */
    let defaultTarget: Target = 'thread';

    /**
     * The options of a command that runs the selected cells on `target()`: as a chain
     * (each after the previous one ended well), or side by side (`chain` false).
     */
    const runCommand = (
      name: string,
      description: string,
      target: () => Target,
      chain = true
    ): CommandOptions => ({
      // Menus show no tooltips: when the command cannot run, its label says why.
      label: () => {
        const reason = unsupported();
        return reason ? trans.__('%1 (%2)', name, reason) : name;
      },
      caption: () => {
        const reason = unsupported();
        return reason ? trans.__('Background jobs are unavailable here: %1', reason) : description;
      },
      icon: jobsIcon,
      isEnabled: () => {
        const widget = current();
        return (
          !!jobs &&
          !!widget &&
          currentCodeCells(widget).length > 0 &&
          // Unknown yet (undefined) counts as supported: running checks again.
          typeof jobs.unsupportedReason(widget, refresh) !== 'string'
        );
      },
      execute: async () => {
        const widget = current();
        if (!jobs || !widget) {
          return;
        }
        const cells = currentCodeCells(widget);
        try {
          const started = await jobs.runInBackground(widget, cells, target(), chain);
          // The first job of the page shows the panel; later ones leave the layout alone.
          if (started.length && !shownOnce) {
            shownOnce = true;
            if (!panel.isVisible) {
              await app.commands.execute(CommandIDs.openPanel);
              app.shell.activateById(widget.id); // keep the focus in the notebook
            }
          }
          return started;
        } catch (error) {
          // Run anyway (a shortcut, a script) where it cannot: say why, start nothing.
          Notification.error(
            trans.__('Could not run in the background: %1', (error as Error).message ?? error),
            { autoClose: 8000 }
          );
          return [];
        }
      }
    });

    app.commands.addCommand(
      CommandIDs.runInBackground,
      runCommand(
        trans.__('Run in Background'),
        trans.__(
          'Run the selected code cells in the background, in order, each after the previous one ended well, while you keep working'
        ),
        () => defaultTarget
      )
    );
    app.commands.addCommand(
      CommandIDs.runSideBySide,
      runCommand(
        trans.__('Run Selected Cells in Background, Side by Side'),
        trans.__(
          'Run each selected code cell as an independent background job: they start together (up to the jobs-at-once setting), none waits for another'
        ),
        () => defaultTarget,
        false
      )
    );
    app.commands.addCommand(
      CommandIDs.runOnCluster,
      runCommand(
        trans.__('Run on Cluster'),
        trans.__(
          'Run the selected code cells on a Dask cluster (the globals they read go with them; the names they assign come back)'
        ),
        () => 'dask'
      )
    );
    app.commands.addCommand(CommandIDs.killJob, {
      label: trans.__('Kill Background Job'),
      execute: args => {
        const jobId = args['jobId'];
        if (typeof jobId === 'string') {
          jobs?.kill(jobId);
        }
      }
    });
    app.commands.addCommand(CommandIDs.killAll, {
      label: trans.__('Kill All Background Jobs'),
      execute: () => jobs?.killAll()
    });
    app.commands.addCommand(CommandIDs.clearFinished, {
      label: trans.__('Clear Finished Background Jobs'),
      execute: () => jobs?.clearFinished()
    });
    app.commands.addCommand(CommandIDs.openPanel, {
      label: trans.__('Show Background Jobs'),
      execute: () => {
        if (!panel.isAttached) {
          app.shell.add(panel, 'right', { rank: 600 });
        }
        app.shell.activateById(PANEL_ID);
      }
    });
    for (const command of Object.values(CommandIDs)) {
      if (command !== CommandIDs.killJob) {
        palette?.addItem({ command, category: trans.__('Background Jobs') });
      }
    }

    app.shell.add(panel, 'right', { rank: 600 });

    // The core (its JavaScript and the wasm) loads once JupyterLab has restored its
    // layout, as a chunk of its own: start-up neither waits on it nor parses it. The
    // commands are enabled once it is there.
    const start = async () => {
      const [{ BackgroundJobs }, { loadCore }] = await Promise.all([
        import('./jobs'),
        import('./wasm')
      ]);
      await loadCore();
      jobs = new BackgroundJobs({
        tracker,
        root: panel.root,
        trans,
        activate: widget => app.shell.activateById(widget.id),
        // Cell toolbar buttons render once: tell them when a notebook's kernel changes.
        kernelChanged: refresh,
        showJob: jobId => {
          void app.commands.execute(CommandIDs.openPanel);
          panel.showJob(jobId);
        },
        saveText: (notebook, num, text) =>
          saveJobText(app.serviceManager.contents, notebook, num, text),
        openFile: path => void app.commands.execute('docmanager:open', { path })
      });
      refresh();
      tracker.activeCellChanged.connect(refresh);
      tracker.selectionChanged.connect(refresh);
      labShell?.currentChanged.connect(refresh);
      if (!settings) {
        return;
      }
      const apply = (loaded: ISettingRegistry.ISettings) => {
        if (jobs) {
          jobs.notifications = loaded.get('notifications').composite as boolean;
          jobs.notifyAfterSeconds = loaded.get('notifyAfterSeconds').composite as number;
          jobs.streamLimit = loaded.get('streamLimit').composite as number;
          jobs.configureRuntime({
            log_limit: loaded.get('logLimit').composite as number,
            kill_grace_ms: Math.round((loaded.get('killGraceSeconds').composite as number) * 1000),
            cleanup_grace_ms: Math.round(
              (loaded.get('cleanupGraceSeconds').composite as number) * 1000
            ),
            interruptible_sleep: loaded.get('interruptibleSleep').composite as boolean,
            cluster: loaded.get('clusterAddress').composite as string,
            cap: loaded.get('concurrency').composite as number,
            log_budget: Math.round((loaded.get('logBudgetMB').composite as number) * 1024 * 1024),
            warn_conflicts: loaded.get('warnConflicts').composite as boolean
          });
          defaultTarget = loaded.get('defaultTarget').composite === 'dask' ? 'dask' : 'thread';
        }
      };
      try {
        const loaded = await settings.load(PLUGIN_ID);
        apply(loaded);
        loaded.changed.connect(apply);
      } catch (error) {
        console.warn('parallel-cell: settings not loaded, using defaults', error);
      }
    };
    app.restored.then(start).catch(error => console.error('parallel-cell: could not start', error));
  }
};

export default plugin;
