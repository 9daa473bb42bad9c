import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { registerCleanup } from './cleanup.js';
import { freePort } from './free-port.js';
import { spawnTracked, terminate } from './spawn.js';
import { waitForPort } from './tcp.js';

/** Options for {@link startNginx}. */
export interface NginxOptions {
  /** Ports of the app processes on 127.0.0.1, balanced round-robin (WebSocket needs no stickiness). */
  upstreamPorts: number[];
  /** `proxy_read_timeout`: an upgraded connection with no frame from the app for this long is cut. */
  proxyReadTimeoutMs: number;
  /** `proxy_send_timeout`. @default proxyReadTimeoutMs */
  proxySendTimeoutMs?: number;
  /**
   * `proxy_next_upstream`: when a request goes to the next server, e.g. `'error timeout http_502 http_503'`
   * so a handshake refused by a draining app (503) is retried on another (as the Ingress's
   * `proxy-next-upstream` annotation does). @default nginx's own, `'error timeout'`
   */
  proxyNextUpstream?: string;
  /**
   * `max_fails` of every upstream server; 0 keeps nginx from benching a server after a failed connect,
   * for upstream lists whose servers come and go (rolling restarts). @default nginx's own, 1
   */
  maxFails?: number;
  /** `worker_connections`; each proxied connection takes two. @default 1024 */
  workerConnections?: number;
}

/** A private nginx reverse proxy on 127.0.0.1 and a free port. */
export interface Nginx {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The generated nginx.conf, for failure messages. */
  readonly config: string;
  /** nginx's error log so far. */
  errorLog(): string;
  /**
   * The access log so far, a line per finished request: `<status> upstream=<statuses> <request>`, where
   * the statuses are one per upstream tried (e.g. `503, 101`: refused by one pod, retried on another).
   * A WebSocket's line is written when it closes.
   */
  accessLog(): string;
  /** Stops it (SIGTERM, SIGKILL after 5 s) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts nginx as the load balancer in front of the given app ports, configured like production
 * (HTTP/1.1 upstream, WebSocket upgrade headers, read/send timeouts), with every file it writes
 * inside a fresh temporary directory. Independent of any system nginx (never port 80, never
 * /etc/nginx). Resolves once it accepts TCP connections.
 */
export async function startNginx(options: NginxOptions): Promise<Nginx> {
  if (options.upstreamPorts.length === 0) throw new Error('startNginx: upstreamPorts is empty');
  const binary = requireBinary('nginx', 'nginx-light');
  const dir = mkdtempSync(join(tmpdir(), 'nginx-test-'));
  mkdirSync(join(dir, 'logs'));
  const unregisterDir = registerCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const errorLogPath = join(dir, 'logs', 'error.log');
  const readLog = (path: string) => (): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  const readErrorLog = readLog(errorLogPath);

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = renderConfig(dir, port, options);
    const configPath = join(dir, 'nginx.conf');
    writeFileSync(configPath, config);
    // -e: nginx opens its error log before reading the config; keep even that one in our directory.
    const child = spawnTracked(binary, ['-p', dir, '-c', configPath, '-e', errorLogPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    try {
      await waitForPort(port, {
        gaveUp: () =>
          child.exitCode !== null || child.signalCode !== null
            ? `nginx exited (${child.exitCode ?? child.signalCode}) before listening:\n${output}${readErrorLog()}\nconfig:\n${config}`
            : undefined,
      });
    } catch (err) {
      await terminate(child, 'SIGKILL');
      if (attempt >= 3) throw err; // else the port was probably taken meanwhile: try another
      continue;
    }
    return {
      port,
      url: `http://127.0.0.1:${port}`,
      config,
      errorLog: readErrorLog,
      accessLog: readLog(join(dir, 'logs', 'access.log')),
      async stop() {
        await terminate(child, 'SIGTERM');
        rmSync(dir, { recursive: true, force: true });
        unregisterDir();
      },
    };
  }
}

/** The upstream retry of our Ingress (k8s/base/ingress.yaml): connect errors and 502/503, never a 4xx. */
export const INGRESS_NEXT_UPSTREAM = 'error timeout http_502 http_503';

/**
 * nginx set up as our Ingress is: the pods' ports (slots not running yet refuse and are skipped), the
 * Ingress's upstream retry, and no benching of a pod after a failed connect (pods come and go in a
 * rolling restart).
 */
export function startIngress(upstreamPorts: readonly number[], proxyReadTimeoutMs: number, options: Pick<NginxOptions, 'workerConnections'> = {}): Promise<Nginx> {
  return startNginx({ upstreamPorts: [...upstreamPorts], proxyReadTimeoutMs, proxyNextUpstream: INGRESS_NEXT_UPSTREAM, maxFails: 0, ...options });
}

function renderConfig(dir: string, port: number, options: NginxOptions): string {
  const read = Math.max(1, Math.round(options.proxyReadTimeoutMs));
  const send = Math.max(1, Math.round(options.proxySendTimeoutMs ?? options.proxyReadTimeoutMs));
  const maxFails = options.maxFails === undefined ? '' : ` max_fails=${options.maxFails}`;
  const servers = options.upstreamPorts.map((p) => `    server 127.0.0.1:${p}${maxFails};`).join('\n');
  const nextUpstream = options.proxyNextUpstream === undefined ? '' : `\n      proxy_next_upstream ${options.proxyNextUpstream};`;
  // master_process off: one process, no worker to setuid to "nobody", so running as root needs no
  // `user` directive and signals reach the process that serves.
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log info;
${options.workerConnections === undefined ? '' : `worker_rlimit_nofile ${2 * options.workerConnections + 64};\n`}events {
  worker_connections ${options.workerConnections ?? 1024};
}
http {
  log_format upstreams '$status upstream=$upstream_status $request';
  access_log ${dir}/logs/access.log upstreams;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;

  map $http_upgrade $connection_upgrade {
    default upgrade;
    '' close;
  }

  upstream app {
${servers}
  }

  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_connect_timeout 1s;
      proxy_read_timeout ${read}ms;
      proxy_send_timeout ${send}ms;${nextUpstream}
    }
  }
}
`;
}
