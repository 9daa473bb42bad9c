#!/usr/bin/env node
// `npm run -s token -- --role streamer --sub alice`: builds when dist/cli/token.js is missing or older than
// any source, then runs it in this process. The build's output goes to stderr, so stdout carries only the
// token and `TOKEN=$(npm run -s token -- ...)` captures exactly that.
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'cli', 'token.js');

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

if (!existsSync(entry) || statSync(entry).mtimeMs < newestMtime(join(root, 'src'))) {
  console.error('token: dist/cli/token.js is missing or stale; running npm run build');
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', process.stderr, process.stderr] });
  if (build.status !== 0) {
    console.error(`token: build failed (exit ${build.status ?? build.signal})`);
    process.exit(1);
  }
  // An incremental build re-emits only the files that changed, so stamp the entry point: otherwise every
  // later run would think the build stale and build again.
  const now = new Date();
  utimesSync(entry, now, now);
}

await import(pathToFileURL(entry).href);
