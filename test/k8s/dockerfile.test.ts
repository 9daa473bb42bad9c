// The image, checked without a Docker engine: the Dockerfile is read and its rules tested, and the file set
// its runtime stage assembles (package.json, dist/, node_modules) is started as the image's user from a
// directory that user cannot write, with the prod ConfigMap's environment.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { registerCleanup, useCleanup } from '../helpers/cleanup.js';
import { SETPRIV, spawnTracked, terminate } from '../helpers/spawn.js';
import { waitUntil } from '../helpers/timing.js';
import { find, render, REPO_ROOT } from './kustomize.js';

useCleanup();

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  image: string;
  name: string;
  instructions: Instruction[];
}

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const stages = parseStages(dockerfile);
const runtime = stages.at(-1)!;
const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
};

/** Dockerfile → stages, with global ARG defaults substituted into FROM; continuation lines joined. */
function parseStages(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const args = new Map<string, string>();
  const result: Stage[] = [];
  for (const line of lines) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === 'ARG' && result.length === 0) {
      const [key, value = ''] = rest.split('=');
      args.set(key!, value);
    } else if (upper === 'FROM') {
      const [image = '', , name = `stage${result.length}`] = rest.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args.get(a ?? b) ?? '').split(/\s+/);
      result.push({ image, name, instructions: [] });
    } else {
      result.at(-1)?.instructions.push({ keyword: upper, args: rest });
    }
  }
  return result;
}

const all = (stage: Stage, keyword: string): string[] => stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
const stageRunning = (pattern: RegExp): Stage | undefined => stages.find((s) => all(s, 'RUN').some((r) => pattern.test(r)));

/** `COPY --from=<stage> <src> <dest>` lines of the runtime stage, and plain COPYs (from the context). */
function runtimeCopies(): Array<{ from: string | null; source: string; dest: string }> {
  return all(runtime, 'COPY').map((args) => {
    const from = /--from=(\S+)/.exec(args)?.[1] ?? null;
    const [source = '', dest = ''] = args.split(/\s+/).filter((a) => !a.startsWith('--'));
    return { from, source, dest };
  });
}

test('multi-stage, every stage on the same Node.js LTS image', () => {
  expect(stages.length).toBeGreaterThanOrEqual(2);
  const majors = stages.map((stage) => {
    const match = /^node:(\d+)-[a-z-]+$/.exec(stage.image);
    expect([stage.name, match]).not.toEqual([stage.name, null]);
    return Number(match![1]);
  });
  expect(new Set(majors).size).toBe(1);
  // Even majors are the LTS lines; at least what package.json's engines asks for.
  expect(majors[0]! % 2).toBe(0);
  expect(majors[0]!).toBeGreaterThanOrEqual(Number(/>=\s*(\d+)/.exec(packageJson.engines.node)![1]));
});

test('built with every dependency, shipped with production dependencies only', () => {
  const build = stageRunning(/\bnpm run build\b/);
  expect(build).toBeDefined();
  const buildRuns = all(build!, 'RUN');
  const installAt = buildRuns.findIndex((r) => /\bnpm ci\b/.test(r) && !/--omit=dev/.test(r));
  expect(installAt).toBeGreaterThanOrEqual(0);
  expect(installAt).toBeLessThan(buildRuns.findIndex((r) => /\bnpm run build\b/.test(r)));

  const deps = stageRunning(/\bnpm ci\b.*--omit=dev/);
  expect(deps).toBeDefined();
  const copies = runtimeCopies();
  expect(copies).toEqual(
    expect.arrayContaining([
      { from: deps!.name, source: '/app/node_modules', dest: './node_modules' },
      { from: build!.name, source: '/app/dist', dest: './dist' },
      // package.json makes dist/*.js ES modules ("type": "module").
      { from: null, source: 'package.json', dest: './' },
    ]),
  );
  expect(copies).toHaveLength(3);
  expect(all(runtime, 'RUN')).toEqual([]);
  expect(all(runtime, 'WORKDIR')).toEqual(['/app']);
});

test('the runtime stage runs `node dist/main.js` as a non-root user, on the port the manifests use, with no secret baked in', async () => {
  expect(all(runtime, 'CMD')).toEqual(['["node", "dist/main.js"]']);
  expect(all(runtime, 'ENTRYPOINT')).toEqual([]);
  const [user] = all(runtime, 'USER');
  const [uid, gid] = (user ?? '').split(':');
  expect(uid).toMatch(/^\d+$/); // numeric, so Kubernetes can check runAsNonRoot
  expect(Number(uid)).toBeGreaterThan(0);
  for (const env of all(runtime, 'ENV')) expect(env).not.toMatch(/JWT_SECRET|REDIS_URL|PASSWORD/);

  const prod = await render('overlays/prod');
  const pod = find<Deployment>(prod, 'Deployment', 'vj-presence').spec!.template.spec!;
  expect(pod.securityContext?.runAsUser).toBe(Number(uid));
  expect(pod.securityContext?.runAsGroup).toBe(Number(gid));
  const port = find<ConfigMap>(prod, 'ConfigMap', 'vj-presence-config').data!.PORT;
  expect(all(runtime, 'EXPOSE')).toEqual([port]);
}, 30_000);

/** Docker's .dockerignore semantics for the simple patterns used: each matches a path from the context root. */
function ignored(path: string, patterns: string[]): boolean {
  const glob = (pattern: string): RegExp =>
    new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}(/.*)?$`);
  let result = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+/, '').replace(/\/+$/, '');
    if (glob(pattern).test(path)) result = !negated;
  }
  return result;
}

test('.dockerignore keeps dependencies, builds, secrets and history out, and lets in everything the build reads', () => {
  const patterns = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const path of ['node_modules', 'dist', '.git', '.env', '.env.production', 'test/e2e/drain.test.ts', 'npm-debug.log']) {
    expect([path, ignored(path, patterns)]).toEqual([path, true]);
  }
  // The build (`npm ci`, then `npm run build`) reads these, and every script the build command runs.
  const scripts = [...packageJson.scripts.build!.matchAll(/node\s+(\S+)/g)].map((m) => m[1]!);
  const needed = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'nest-cli.json', 'src/main.ts', ...scripts];
  for (const path of needed) expect([path, ignored(path, patterns)]).toEqual([path, false]);
});

test('everything dist/ imports at run time is a production dependency (or built into Node)', () => {
  const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
  const production = new Set(Object.keys(packageJson.dependencies));
  const missing = new Set<string>();
  // Browser bundles under dist/**/public are served to browsers, not imported by Node.
  for (const file of jsFiles(join(REPO_ROOT, 'dist')).filter((f) => !/\/public\//.test(f))) {
    const source = readFileSync(file, 'utf8');
    for (const [, specifier] of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"./][^'"]*)['"]/g)) {
      if (builtins.has(specifier!)) continue;
      const pkg = specifier!.startsWith('@') ? specifier!.split('/').slice(0, 2).join('/') : specifier!.split('/')[0]!;
      if (!production.has(pkg)) missing.add(`${pkg} (${relative(REPO_ROOT, file)})`);
    }
  }
  expect([...missing]).toEqual([]);
});

function jsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return jsFiles(path);
    return path.endsWith('.js') ? [path] : [];
  });
}

test("the runtime stage's files start as the image's user, from a directory it cannot write, with the prod config", async () => {
  const [uid = '', gid = ''] = (all(runtime, 'USER')[0] ?? '').split(':');
  const image = imageLayout();

  const prod = await render('overlays/prod');
  const config = find<ConfigMap>(prod, 'ConfigMap', 'vj-presence-config').data!;
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...config, PORT: '0', HOST: '127.0.0.1', JWT_SECRET: 'test-only-'.padEnd(48, 'x') };
  const asUser = process.getuid?.() === 0 ? [requireSetpriv(), '--reuid', uid, '--regid', gid, '--clear-groups', '--'] : [];
  const [command, ...args] = [...asUser, process.execPath, 'dist/main.js'];
  const child = spawnTracked(command!, args, { cwd: image, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));

  const port = await waitUntil(() => {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${output}`);
    return /Listening on http:\/\/[^\s:"]+:(\d+)/.exec(output)?.[1];
  }, 15_000, 50).catch((err: Error) => {
    throw new Error(`${err.message}\noutput:\n${output}`);
  });
  if (asUser.length > 0) {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe(uid);
    expect(/^Gid:\s+(\d+)/m.exec(status)?.[1]).toBe(gid);
  }
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
  const exit = await terminate(child, 'SIGTERM', 15_000);
  expect([exit, output]).toEqual([{ code: 0, signal: null }, output]);
  expect(output).not.toMatch(/EACCES|EROFS/);
}, 120_000);

/**
 * The runtime stage's files in a tree of their own, as the image holds them: package.json, a copy of
 * dist/, and production dependencies installed by the deps stage's own `npm ci --omit=dev`. Nothing
 * points back into the checkout, whose parent folders the image's user may not be allowed to enter
 * (a clone under `mktemp -d` or a home directory is 0700), and everything is world-readable, owned by
 * whoever runs the test, as root owns it in the image.
 */
function imageLayout(): string {
  // /tmp, not TMPDIR: a per-user TMPDIR (0700) is as closed to the image's user as the checkout.
  const image = mkdtempSync(join('/tmp', 'image-layout-'));
  registerCleanup(() => rmSync(image, { recursive: true, force: true }));
  for (const file of ['package.json', 'package-lock.json']) cpSync(join(REPO_ROOT, file), join(image, file));
  cpSync(join(REPO_ROOT, 'dist'), join(image, 'dist'), { recursive: true });
  const install = all(stageRunning(/\bnpm ci\b.*--omit=dev/)!, 'RUN').find((r) => /\bnpm ci\b.*--omit=dev/.test(r))!;
  const npmCi = install.split('&&')[0]!.trim().split(/\s+/).slice(1);
  // --prefer-offline: the packages are in npm's cache since the checkout's own `npm ci`.
  execFileSync('npm', [...npmCi, '--prefer-offline'], { cwd: image, stdio: 'pipe', timeout: 90_000 });
  rmSync(join(image, 'package-lock.json'));
  // mkdtemp makes it 0700, and a checkout made under umask 077 has unreadable files: the image's /app is
  // readable (and its folders enterable), not writable, by its user.
  execFileSync('chmod', ['-R', 'u=rwX,go=rX', image]);
  return image;
}

function requireSetpriv(): string {
  if (SETPRIV === undefined) throw new Error("setpriv not found: install it with 'apt-get install -y util-linux'");
  return SETPRIV;
}
