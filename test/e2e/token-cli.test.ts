import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import jwt from 'jsonwebtoken';
import { DEV_JWT_SECRET } from '../../src/config/app-config.js';

// Runs the built CLI (`npm test` builds first), the way an operator or a script would.
const CLI = fileURLToPath(new URL('../../dist/cli/token.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with only the given variables set, so the developer's own JWT_SECRET or NODE_ENV cannot leak in. */
function runCli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function verify(token: string, secret: string): jwt.JwtPayload {
  return jwt.verify(token, secret, { algorithms: ['HS256'] }) as jwt.JwtPayload;
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npx nest build (npm test does) first`);
});

describe('token CLI', () => {
  it('prints one token signed with the dev secret, claims sub, role and a 24 h exp, and warns on stderr', async () => {
    const run = await runCli(['--role', 'streamer', '--sub', 'alice']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const claims = verify(run.stdout.trim(), DEV_JWT_SECRET);
    expect(claims).toMatchObject({ sub: 'alice', role: 'streamer' });
    expect(claims.exp! - claims.iat!).toBe(86_400);
    expect(Math.abs(claims.exp! - (Date.now() / 1000 + 86_400))).toBeLessThan(60);
    expect(jwt.decode(run.stdout.trim(), { complete: true })?.header.alg).toBe('HS256');
    expect(run.stderr).toMatch(/JWT_SECRET/);
    expect(run.stderr).toMatch(/forge/);
  });

  it('honours --ttl and mints viewer tokens', async () => {
    const run = await runCli(['--role', 'viewer', '--sub', 'viewer 42 (any text)', '--ttl', '60']);
    expect(run.code).toBe(0);
    const claims = verify(run.stdout.trim(), DEV_JWT_SECRET);
    expect(claims).toMatchObject({ sub: 'viewer 42 (any text)', role: 'viewer' });
    expect(claims.exp! - claims.iat!).toBe(60);
  });

  it('refuses a --ttl longer than the service accepts (TOKEN_MAX_LIFETIME_MS)', async () => {
    const run = await runCli(['--role', 'streamer', '--sub', 'alice', '--ttl', String(25 * 3600)]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/TOKEN_MAX_LIFETIME_MS/);
  });

  it('mints operator tokens (npm run token -- --role operator --sub ops)', async () => {
    const run = await runCli(['--role', 'operator', '--sub', 'ops']);
    expect(run.code).toBe(0);
    expect(verify(run.stdout.trim(), DEV_JWT_SECRET)).toMatchObject({ sub: 'ops', role: 'operator' });
  });

  it('signs with JWT_SECRET in production, with nothing on stderr', async () => {
    const secret = 's'.repeat(40);
    const run = await runCli(['--role', 'streamer', '--sub', 'bob'], { NODE_ENV: 'production', JWT_SECRET: secret });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(verify(run.stdout.trim(), secret)).toMatchObject({ sub: 'bob', role: 'streamer' });
    expect(() => verify(run.stdout.trim(), DEV_JWT_SECRET)).toThrow();
  });

  it.each([
    ['a bad role', ['--role', 'admin', '--sub', 'alice'], /--role/],
    ['no role', ['--sub', 'alice'], /--role/],
    ['no sub', ['--role', 'viewer'], /--sub/],
    ['a bad streamer id', ['--role', 'streamer', '--sub', 'alice smith'], /--sub/],
    ['a streamer id over 64 characters', ['--role', 'streamer', '--sub', 'a'.repeat(65)], /--sub/],
    ['a fractional ttl', ['--role', 'viewer', '--sub', 'v', '--ttl', '1.5'], /--ttl/],
    ['a zero ttl', ['--role', 'viewer', '--sub', 'v', '--ttl', '0'], /--ttl/],
    ['an unknown option', ['--role', 'viewer', '--sub', 'v', '--admin'], /admin/],
    ['a positional argument', ['--role', 'viewer', '--sub', 'v', 'extra'], /extra/],
  ])('exits 2 with usage on stderr for %s', async (_name, args, problem) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(problem);
    expect(run.stderr).toMatch(/usage:/);
  });

  it('exits 1 naming JWT_SECRET when NODE_ENV=production has no secret', async () => {
    const run = await runCli(['--role', 'streamer', '--sub', 'alice'], { NODE_ENV: 'production' });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/JWT_SECRET/);
  });

  it('exits 1 with one line per invalid variable', async () => {
    const run = await runCli(['--role', 'viewer', '--sub', 'v'], { HEARTBEAT_INTERVAL_MS: 'abc', PORT: 'x' });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(run.stderr).toMatch(/HEARTBEAT_INTERVAL_MS/);
    expect(run.stderr).toMatch(/PORT/);
  });

  it('prints usage on stdout for --help and exits 0', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/usage:/);
  });
});
