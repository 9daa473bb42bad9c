// The client SDK as built by `npm run build` (src/sdk → dist/sdk).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SDK_ENTRY = new URL('../../dist/sdk/index.js', import.meta.url);

export async function loadSdk() {
  if (!existsSync(fileURLToPath(SDK_ENTRY))) {
    throw new Error(`${fileURLToPath(SDK_ENTRY)} not found: run 'npm run build' first`);
  }
  return import(SDK_ENTRY.href);
}
