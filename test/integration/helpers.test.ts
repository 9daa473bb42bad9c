// Self-tests of the test helpers: each spawns the real program it wraps. They do not start the app.
import { execFile } from 'node:child_process';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect as tcpConnect, createServer as createTcpServer, type Socket } from 'node:net';
import { promisify } from 'node:util';
import jwt from 'jsonwebtoken';
import { Server as IoServer } from 'socket.io';
import { requireBinary } from '../helpers/binaries.js';
import { registerCleanup, useCleanup } from '../helpers/cleanup.js';
import { closeAll, connectError, connectViewer, EventRecorder } from '../helpers/clients.js';
import { faketimeEnv } from '../helpers/faketime.js';
import { freePort } from '../helpers/free-port.js';
import { startNginx } from '../helpers/nginx.js';
import { startRedis } from '../helpers/redis-server.js';
import { tcpExchange, waitForPort } from '../helpers/tcp.js';
import { sleep, waitUntil } from '../helpers/timing.js';
import { signToken } from '../helpers/tokens.js';
import { DEV_JWT_SECRET } from '../../src/config/app-config.js';

const execFileAsync = promisify(execFile);

useCleanup();

/** A tiny HTTP server on a free port, closed by the file's cleanup. */
async function startHttpServer(handler: Parameters<typeof createHttpServer>[1]): Promise<{ server: HttpServer; port: number }> {
  const server = createHttpServer(handler);
  // Upgraded sockets leave HTTP's bookkeeping (closeAllConnections misses them): track them all.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  registerCleanup(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  );
  return { server, port };
}

describe('freePort', () => {
  it('returns a port that can be listened on', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const server = createTcpServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});

describe('tcpExchange', () => {
  it('gets an answer that came while its process was held past the try\'s timeout', async () => {
    const server = createTcpServer((socket) => socket.on('data', () => socket.end('+PONG\r\n')));
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    registerCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const answer = tcpExchange(port, 'PING\r\n', 300).catch((error: unknown) => String(error));
    // Held ten timeouts long (the full-scale soak's generator: timers 15 s late). The answer is there
    // by then, but the timer, overdue, ran first and gave up on it: every try of a restarted Redis.
    const heldUntil = Date.now() + 3_000;
    while (Date.now() < heldUntil) {
      // Busy: nothing else runs.
    }
    expect(await answer).toBe('+PONG\r\n');
  }, 10_000);
});

describe('waitForPort', () => {
  it('tries once more past its deadline when the wait stalled: a server up by then is found ready', async () => {
    // Answers NO, then PONG once `up`: a server that comes up while the waiter's process is starved.
    let up = false;
    const server = createTcpServer((socket) => socket.on('data', () => socket.end(up ? '+PONG\r\n' : '-NO\r\n')));
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    registerCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const ready = waitForPort(port, { timeoutMs: 300, send: 'PING\r\n', expect: /^\+PONG/ }).then(
      () => 'ready',
      (error: unknown) => String(error),
    );
    await sleep(100);
    up = true;
    // The event loop held past the deadline (the full-scale soak's generator: timers 15 s late). The
    // wait's next try then began after its deadline; it gave up without making it, and the soak killed
    // a Redis that was answering its pods.
    const heldUntil = Date.now() + 500;
    while (Date.now() < heldUntil) {
      // Busy: nothing else runs.
    }
    expect(await ready).toBe('ready');
  });

  it('gives up after its deadline when the server never answers as expected', async () => {
    const server = createTcpServer((socket) => socket.on('data', () => socket.end('-NO\r\n')));
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    registerCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const startedAt = Date.now();
    await expect(waitForPort(port, { timeoutMs: 300, send: 'PING\r\n', expect: /^\+PONG/ })).rejects.toThrow(`127.0.0.1:${port} not ready within 300 ms (unexpected answer "-NO\\r\\n")`);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(300);
  });
});

describe('requireBinary', () => {
  it('fails with the apt-get command when the program is missing', () => {
    expect(() => requireBinary('no-such-program-xyz', 'some-package')).toThrow(
      "no-such-program-xyz not found: install it with 'apt-get install -y some-package' (npm test does this when run as root)",
    );
  });

  it('finds nginx in /usr/sbin even when PATH lacks it', () => {
    const saved = process.env.PATH;
    process.env.PATH = '/bin';
    try {
      expect(requireBinary('nginx', 'nginx-light')).toBe('/usr/sbin/nginx');
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('startRedis', () => {
  it('answers PING, freezes and thaws, restarts empty on the same port', async () => {
    const redis = await startRedis();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(redis.port).not.toBe(6379);
    const redisCli = requireBinary('redis-cli', 'redis-tools');
    const { stdout } = await execFileAsync(redisCli, ['-p', String(redis.port), 'ping']);
    expect(stdout.trim()).toBe('PONG');
    expect(await redis.cli('SET', 'k', 'v')).toBe('OK');

    redis.freeze();
    // Still accepts TCP (the kernel does), but never answers.
    await expect(tcpExchange(redis.port, 'PING\r\n', 300)).rejects.toThrow(/no answer/);
    redis.thaw();
    expect(await tcpExchange(redis.port, 'PING\r\n')).toMatch(/^\+PONG/);
    expect(await redis.cli('GET', 'k')).toBe('v');

    const oldPid = redis.pid;
    await redis.restart();
    expect(redis.pid).not.toBe(oldPid);
    expect(await redis.cli('DBSIZE')).toBe('0');

    await redis.kill9();
    await expect(tcpExchange(redis.port, 'PING\r\n', 300)).rejects.toThrow();
    await redis.restart();
    expect(await redis.cli('PING')).toBe('PONG');
    await redis.stop();
    await expect(tcpExchange(redis.port, 'PING\r\n', 300)).rejects.toThrow();
  });

  it('gives each server its own port', async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()]);
    expect(a.port).not.toBe(b.port);
    await Promise.all([a.stop(), b.stop()]);
  });
});

describe('startNginx', () => {
  it('proxies HTTP to its upstreams, round-robin', async () => {
    const one = await startHttpServer((_req, res) => res.end('one'));
    const two = await startHttpServer((_req, res) => res.end('two'));
    const nginx = await startNginx({ upstreamPorts: [one.port, two.port], proxyReadTimeoutMs: 2_000 });
    const bodies = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${nginx.url}/anything`);
      expect(res.status).toBe(200);
      bodies.add(await res.text());
    }
    expect([...bodies].sort()).toEqual(['one', 'two']);
    await nginx.stop();
  });

  it('cuts an upgraded connection that stays idle for proxy_read_timeout', async () => {
    const upstream = await startHttpServer((_req, res) => res.end());
    upstream.server.on('upgrade', (_req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n');
      // then silence
    });
    const nginx = await startNginx({ upstreamPorts: [upstream.port], proxyReadTimeoutMs: 500 });
    const client = tcpConnect({ host: '127.0.0.1', port: nginx.port });
    registerCleanup(() => client.destroy());
    let upgradedAt = 0;
    const closedAt = new Promise<number>((resolve) => client.once('close', () => resolve(Date.now())));
    client.on('data', (chunk) => {
      if (upgradedAt === 0 && chunk.toString().startsWith('HTTP/1.1 101')) upgradedAt = Date.now();
    });
    client.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n');
    const idleMs = (await closedAt) - upgradedAt;
    expect(upgradedAt).toBeGreaterThan(0);
    expect(idleMs).toBeGreaterThanOrEqual(400);
    expect(idleMs).toBeLessThan(3_000);
    await nginx.stop();
  });
});

describe('socket.io client helpers', () => {
  async function startIo(): Promise<string> {
    const port = await freePort();
    const io = new IoServer(port, { transports: ['websocket'] });
    registerCleanup(() => io.close());
    io.of('/viewer').use((socket, next) => {
      const token: unknown = socket.handshake.auth.token;
      if (token !== undefined && token !== 'good') next(new Error('unauthorized'));
      else next();
    });
    io.of('/viewer').on('connection', (socket) => {
      socket.on('ping-me', (n: number) => {
        for (let i = 1; i <= n; i++) socket.emit('tick', i);
      });
    });
    return `http://127.0.0.1:${port}`;
  }

  it('connects, records events with arrival times, and reports refused handshakes', async () => {
    const url = await startIo();
    const viewer = await connectViewer(url);
    const ticks = new EventRecorder<number>(viewer, 'tick');
    const before = Date.now();
    viewer.emit('ping-me', 3);
    const third = await ticks.waitFor((n) => n === 3, 2_000);
    expect(third.at).toBeGreaterThanOrEqual(before);
    expect(ticks.payloads()).toEqual([1, 2, 3]);
    await ticks.expectNoneFor(100);
    const early = ticks.expectNoneFor(1_000);
    viewer.emit('ping-me', 1);
    await expect(early).rejects.toThrow(/unexpected 'tick'/);
    await expect(ticks.waitFor((n) => n === 99, 100)).rejects.toThrow(/no matching 'tick'/);

    expect(await connectError(url, '/viewer', { token: 'bad' })).toBe('unauthorized');
    await expect(connectViewer(url, 'bad')).rejects.toThrow('unauthorized');
    closeAll(viewer);
    await waitUntil(() => viewer.disconnected, 1_000);
  });
});

describe('signToken', () => {
  it('signs HS256 tokens with the development secret by default', () => {
    const claims = jwt.verify(signToken({ sub: 's1', role: 'streamer' }), DEV_JWT_SECRET, {
      algorithms: ['HS256'],
    }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: 's1', role: 'streamer' });
    expect(claims.exp! - claims.iat!).toBe(3600);
  });

  it('makes expired tokens and tokens with another secret', () => {
    expect(() => jwt.verify(signToken({ sub: 'v', role: 'viewer', expiresInSec: -10 }), DEV_JWT_SECRET)).toThrow(
      jwt.TokenExpiredError,
    );
    expect(() => jwt.verify(signToken({ sub: 'v', role: 'viewer', secret: 'other' }), DEV_JWT_SECRET)).toThrow(
      jwt.JsonWebTokenError,
    );
  });
});

describe('faketimeEnv', () => {
  it('shifts the wall clock of a child and leaves its timers real', async () => {
    const script = 'const t=Date.now();const m=performance.now();setTimeout(()=>console.log(t, performance.now()-m),200)';
    const started = Date.now();
    const { stdout } = await execFileAsync(process.execPath, ['-e', script], {
      env: { ...process.env, NODE_OPTIONS: '', ...faketimeEnv('-30s') },
    });
    const elapsed = Date.now() - started;
    const [childNow, timerMs] = stdout.trim().split(' ').map(Number);
    // The child read its clock somewhere between `started` and `started + elapsed` (a spawn on a busy
    // machine can take more than a second), 30 s behind.
    expect(childNow! - started).toBeGreaterThanOrEqual(-30_000 - 200);
    expect(childNow! - started).toBeLessThanOrEqual(-30_000 + elapsed + 200);
    expect(timerMs).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(5_000);
    await sleep(0);
  });
});
