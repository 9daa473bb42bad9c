// The SDK is bundled for browsers as it is: it may import socket.io-client, its own files, and the
// wire types (type-only). No Node built-ins or globals, nothing server-side.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The server's pure wire-type modules the SDK shares, type-only (nothing of them is left at run time). */
const WIRE_TYPES = ['../presence/domain/presence-state.js', '../presence/domain/ack.js'];
const SDK_DIR = fileURLToPath(new URL('../../src/sdk/', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('./tsconfig.browser.json', import.meta.url));
const files = readdirSync(SDK_DIR).filter((name) => name.endsWith('.ts'));
const source = (name: string): string => readFileSync(`${SDK_DIR}${name}`, 'utf8');

/** Every `import … from '…'` / `export … from '…'` statement of a file, whole. */
function importStatements(text: string): string[] {
  return [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'([^']+)';/gms)].map((match) => match[0]);
}

test.each(files)('%s imports only socket.io-client, sibling files and type-only wire types', (name) => {
  for (const statement of importStatements(source(name))) {
    const specifier = /from\s+'([^']+)'/.exec(statement)![1]!;
    if (specifier === 'socket.io-client' || /^\.\/[a-z-]+\.js$/.test(specifier)) continue;
    expect(WIRE_TYPES).toContain(specifier);
    expect(statement).toMatch(/^(import|export) type\b/);
  }
  expect(source(name)).not.toMatch(/\brequire\(|\bimport\(/);
});

test.each(files)('%s uses no Node globals', (name) => {
  const code = source(name).replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '');
  expect(code).not.toMatch(/\b(process|Buffer|__dirname|__filename|global|setImmediate)\b/);
  expect(code).not.toMatch(/\bNodeJS\./);
  expect(code).not.toMatch(/(?<![.\w])(setTimeout|clearTimeout|setInterval)\(/); // globalThis.setTimeout only
});

test('the SDK type-checks with DOM globals and without Node types', async () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const run = promisify(execFile)(process.execPath, [tsc, '-p', TSCONFIG], { timeout: 60_000 });
  await expect(run).resolves.toMatchObject({ stdout: '' });
}, 60_000);
