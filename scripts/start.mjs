#!/usr/bin/env node
// `npm start`: builds when dist/main.js is missing or older than its sources, then runs the app in this
// very process (no child), so SIGTERM from a supervisor reaches the app's drain logic directly.
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'main.js');

/** Newest modification time (ms) of a file, or of any file under a directory; 0 when absent. */
function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs; // a deleted file shows only as a newer directory
  for (const name of readdirSync(path)) {
    newest = Math.max(newest, newestMtime(join(path, name)));
  }
  return newest;
}

function sourcesNewestMtime() {
  const configs = readdirSync(root).filter(
    (name) => /^tsconfig.*\.json$/.test(name) || name === 'nest-cli.json' || name === 'package.json',
  );
  return Math.max(newestMtime(join(root, 'src')), ...configs.map((name) => newestMtime(join(root, name))));
}

if (!existsSync(entry) || statSync(entry).mtimeMs < sourcesNewestMtime()) {
  console.error('start: dist/main.js is missing or stale; running npm run build');
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error(`start: build failed (exit ${build.status ?? build.signal})`);
    process.exit(1);
  }
  // An incremental build re-emits only changed files (and none for a config-only change), so stamp
  // the entry point: otherwise every later start would think the build stale and build again.
  const now = new Date();
  utimesSync(entry, now, now);
}

await import(new URL('../dist/main.js', import.meta.url).href);
