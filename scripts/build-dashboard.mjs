// Builds the dashboard page into dist/dashboard/public: the browser code (with the viewer SDK and
// socket.io-client) bundled by esbuild into one ES module, beside the page's static files. esbuild does
// not type-check; `npm run typecheck` does (src/dashboard/browser/tsconfig.json, with the DOM types).
import { cpSync, mkdirSync } from 'node:fs';
import { build } from 'esbuild';
import { root } from './build-if-stale.mjs';

const out = `${root}/dist/dashboard/public`;
mkdirSync(out, { recursive: true });
cpSync(`${root}/src/dashboard/public`, out, { recursive: true });
await build({
  entryPoints: [`${root}/src/dashboard/browser/dashboard.ts`],
  outfile: `${out}/dashboard.js`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
