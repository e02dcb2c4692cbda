// Type-check labextension/src against the @jupyterlab/* packages of one installed
// JupyterLab (its share/jupyter/lab/static/package.json), so the extension uses only APIs
// that version has. Usage: node scripts/typecheck-against.mjs <venv> <work dir>
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [venv, work] = process.argv.slice(2).map(p => resolve(p));
const root = resolve(import.meta.dirname, '..');
const ours = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const lab = JSON.parse(
  readFileSync(join(venv, 'share', 'jupyter', 'lab', 'static', 'package.json'), 'utf8')
);
// Exactly the versions that JupyterLab ships ("~4.0.0" → "4.0.0"). @lumino/* keep their
// ranges: the registry lacks some old exact versions, and npm then hoists one copy.
const pinned = {};
for (const [name, range] of Object.entries(lab.resolutions)) {
  if (name.startsWith('@jupyterlab/')) {
    pinned[name] = range.replace(/^[~^]/, '');
  }
}
const dependencies = { typescript: ours.devDependencies.typescript };
for (const name of Object.keys(ours.dependencies)) {
  if (name.startsWith('@jupyterlab/')) {
    dependencies[name] = pinned[name];
  }
}
const overrides = Object.fromEntries(
  Object.entries(pinned).filter(([name]) => !(name in dependencies))
);
const manifest = JSON.stringify(
  { name: 'typecheck', private: true, dependencies, overrides },
  null,
  1
);
mkdirSync(work, { recursive: true });
const manifestPath = join(work, 'package.json');
if (!existsSync(join(work, 'node_modules')) || readFileSync(manifestPath, 'utf8') !== manifest) {
  writeFileSync(manifestPath, manifest);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: work,
    stdio: 'inherit'
  });
}
rmSync(join(work, 'src'), { recursive: true, force: true });
cpSync(join(root, 'labextension', 'src'), join(work, 'src'), { recursive: true });
cpSync(join(root, 'labextension', 'tsconfig.json'), join(work, 'tsconfig.json'));
execFileSync(join(work, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', work], {
  stdio: 'inherit'
});
console.log(
  `the extension type-checks against JupyterLab ${lab.version}'s packages ` +
    `(@jupyterlab/application ${dependencies['@jupyterlab/application']})`
);
