// Shared by `npm start` and `npm run token`: builds when a dist entry point is missing or older than the
// sources it comes from. Build output goes to stderr, so a caller's stdout stays its own (the token).
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

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

/** Builds if `dist/<relativeEntry>` is missing or stale; exits the process when the build fails. */
export function buildIfStale(relativeEntry, who) {
  const entry = join(root, 'dist', relativeEntry);
  if (existsSync(entry) && statSync(entry).mtimeMs >= sourcesNewestMtime()) return entry;
  console.error(`${who}: dist/${relativeEntry} is missing or stale; running npm run build`);
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', process.stderr, process.stderr] });
  if (build.status !== 0) {
    console.error(`${who}: build failed (exit ${build.status ?? build.signal})`);
    process.exit(1);
  }
  // An incremental build re-emits only changed files (and none for a config-only change), so stamp the
  // entry point: otherwise every later run would think the build stale and build again.
  const now = new Date();
  utimesSync(entry, now, now);
  return entry;
}
