// Saves a job's logged text as a file next to its notebook, through the server's
// contents API (so it works wherever the notebook lives, a hub included).
import type { Contents } from '@jupyterlab/services';

/** `notebook`'s folder and the stem of its name (`a/b/run.ipynb` → `a/b`, `run`). */
function place(notebook: string | null): [string, string] {
  const path = notebook ?? '';
  const slash = path.lastIndexOf('/');
  const name = path.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  return [slash >= 0 ? path.slice(0, slash) : '', (dot > 0 ? name.slice(0, dot) : name) || 'job'];
}

/**
 * Save `text` as `<notebook stem>-job-<num>-output.txt` beside the notebook, under a name
 * not taken yet (`…-output-2.txt`, …); resolves to the path written.
 */
export async function saveJobText(
  contents: Contents.IManager,
  notebook: string | null,
  num: number | null,
  text: string
): Promise<string> {
  const [dir, stem] = place(notebook);
  const base = `${dir ? `${dir}/` : ''}${stem}-job-${num ?? 'x'}-output`;
  for (let n = 1; n < 1000; n++) {
    const path = n === 1 ? `${base}.txt` : `${base}-${n}.txt`;
    try {
      await contents.get(path, { content: false });
      continue; // taken
    } catch {
      // free (a 404)
    }
    await contents.save(path, { type: 'file', format: 'text', content: text });
    return path;
  }
  throw new Error(`every name like ${base}.txt is taken`);
}
