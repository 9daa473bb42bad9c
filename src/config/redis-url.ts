import { quote, type ValueCheck } from './env-reader.js';

/** Checks REDIS_URL. Error messages hide any credentials in the URL, since they end up in logs. */
export function checkRedisUrl(raw: string): ValueCheck<string> {
  if (!/^rediss?:\/\//.test(raw)) {
    return { ok: false, error: `REDIS_URL must start with redis:// or rediss://, got ${quote(withoutCredentials(raw))}` };
  }
  try {
    new URL(raw);
  } catch {
    return { ok: false, error: `REDIS_URL is not a valid URL, got ${quote(withoutCredentials(raw))}` };
  }
  return { ok: true, value: raw };
}

/** Replaces everything between the scheme and the last '@' (user and password) with ***. */
function withoutCredentials(raw: string): string {
  const at = raw.lastIndexOf('@');
  if (at < 0) return raw;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(raw)?.[0] ?? '';
  return `${scheme}***${raw.slice(at)}`;
}
