import { quote, type ValueCheck } from './env-reader.js';

/** A host and port of a Sentinel or Cluster seed list. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Credentials from the URL's userinfo, percent-decoded; absent parts are undefined. */
export interface RedisCredentials {
  readonly username?: string;
  readonly password?: string;
}

/** Which Redis the pods talk to, by the scheme of REDIS_URL (CONTRACT: "Redis topologies"). */
export type RedisTopology =
  | { readonly kind: 'single'; readonly url: string }
  | (RedisCredentials & { readonly kind: 'sentinel'; readonly sentinels: readonly HostPort[]; readonly masterName: string; readonly tls: boolean })
  | (RedisCredentials & { readonly kind: 'cluster'; readonly nodes: readonly HostPort[]; readonly tls: boolean });

const SCHEMES = 'redis://, rediss://, redis+sentinel://, rediss+sentinel://, redis+cluster:// or rediss+cluster://';
const DEFAULT_PORT = { sentinel: 26379, cluster: 6379 } as const;

/**
 * Parses REDIS_URL into its topology. Error messages name what is wrong, and hide any credentials in the
 * URL, since they end up in logs.
 */
export function checkRedisUrl(raw: string): ValueCheck<RedisTopology> {
  const shown = quote(withoutCredentials(raw));
  if (/^rediss?:\/\//.test(raw)) {
    try {
      new URL(raw);
    } catch {
      return { ok: false, error: `REDIS_URL is not a valid URL, got ${shown}` };
    }
    return { ok: true, value: { kind: 'single', url: raw } };
  }
  const match = /^(rediss?)\+(sentinel|cluster):\/\/(?:([^@/]*)@)?([^/?#]*)(\/[^?#]*)?([?#].*)?$/.exec(raw);
  if (match === null) return { ok: false, error: `REDIS_URL must start with ${SCHEMES}, got ${shown}` };
  const [, scheme, kind, userinfo, hostList, path = '', rest] = match as unknown as [string, string, 'sentinel' | 'cluster', string | undefined, string, string | undefined, string | undefined];
  if (rest !== undefined) return { ok: false, error: `REDIS_URL: ${scheme}+${kind}:// takes no query or fragment, got ${shown}` };
  const hosts = parseHostList(hostList, DEFAULT_PORT[kind]);
  if (!hosts.ok) return { ok: false, error: `REDIS_URL: ${hosts.error}, in ${shown}` };
  const credentials = parseUserinfo(userinfo);
  if (!credentials.ok) return { ok: false, error: `REDIS_URL: ${credentials.error}, in ${shown}` };
  const tls = scheme === 'rediss';
  if (kind === 'cluster') {
    if (path !== '' && path !== '/') return { ok: false, error: `REDIS_URL: redis+cluster:// takes no path (a Cluster has one database), got ${shown}` };
    return { ok: true, value: { kind, nodes: hosts.value, tls, ...credentials.value } };
  }
  const masterName = path.slice(1);
  if (!/^[^/\s]+$/.test(masterName)) {
    return { ok: false, error: `REDIS_URL: redis+sentinel:// needs the primary's name as its path, as in redis+sentinel://host:26379/mymaster, got ${shown}` };
  }
  return { ok: true, value: { kind, sentinels: hosts.value, masterName: decodeURIComponent(masterName), tls, ...credentials.value } };
}

function parseHostList(list: string, defaultPort: number): ValueCheck<HostPort[]> {
  if (list === '') return { ok: false, error: 'no host given' };
  const hosts: HostPort[] = [];
  for (const [i, entry] of list.split(',').entries()) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d+))?$/.exec(entry);
    if (match === null) return { ok: false, error: `host ${i + 1} ${quote(entry)} is not host or host:port` };
    const port = match[2] === undefined ? defaultPort : Number(match[2]);
    if (port < 1 || port > 65535) return { ok: false, error: `the port of host ${i + 1} ${quote(entry)} is not from 1 to 65535` };
    hosts.push({ host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port });
  }
  return { ok: true, value: hosts };
}

function parseUserinfo(userinfo: string | undefined): ValueCheck<RedisCredentials> {
  if (userinfo === undefined || userinfo === '') return { ok: true, value: {} };
  const colon = userinfo.indexOf(':');
  const [user, password] = colon < 0 ? [userinfo, undefined] : [userinfo.slice(0, colon), userinfo.slice(colon + 1)];
  try {
    return {
      ok: true,
      value: {
        ...(user === '' ? {} : { username: decodeURIComponent(user) }),
        ...(password === undefined ? {} : { password: decodeURIComponent(password) }),
      },
    };
  } catch {
    return { ok: false, error: 'the credentials are not valid percent-encoding' };
  }
}

/** Replaces everything between the scheme and the last '@' (user and password) with ***. */
function withoutCredentials(raw: string): string {
  const at = raw.lastIndexOf('@');
  if (at < 0) return raw;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(raw)?.[0] ?? '';
  return `${scheme}***${raw.slice(at)}`;
}
