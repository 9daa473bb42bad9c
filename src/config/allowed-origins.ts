import { quote, type ValueCheck } from './env-reader.js';

// scheme://host[:port] and nothing else; the host is a name, an IPv4 address or a bracketed IPv6 address.
const ORIGIN = /^([a-z][a-z0-9+.-]*):\/\/(\[[0-9a-f:.]+\]|[^\s/?#@:[\]]+)(?::(\d{1,5}))?$/i;

/**
 * Parses ALLOWED_ORIGINS: comma-separated, entries trimmed, empty entries dropped. Each entry is rewritten
 * the way a browser serializes the Origin header (lower-case scheme and host, no default port), so the
 * handshake check can compare strings exactly: "https://A.example:443" must match "https://a.example".
 * Every bad entry is reported in the one message.
 */
export function checkAllowedOrigins(raw: string): ValueCheck<readonly string[]> {
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) {
    // Refusing every browser is never what "," meant; allowing every origin is what unsetting it is for.
    return { ok: false, error: `ALLOWED_ORIGINS lists no origins, got ${quote(raw)}; unset it to allow every origin` };
  }

  const origins: string[] = [];
  const bad: string[] = [];
  for (const entry of entries) {
    const origin = normalizeOrigin(entry);
    if (origin === undefined) bad.push(entry);
    else origins.push(origin);
  }
  if (bad.length > 0) {
    return {
      ok: false,
      error: `ALLOWED_ORIGINS entries must be origins like https://app.example or http://localhost:8080 (scheme://host[:port], no path or trailing slash), got ${bad.map(quote).join(', ')}`,
    };
  }
  return { ok: true, value: origins };
}

function normalizeOrigin(entry: string): string | undefined {
  const match = ORIGIN.exec(entry);
  if (!match) return undefined;
  const [, scheme = '', host = '', port] = match;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return undefined;
  const lowerScheme = scheme.toLowerCase();
  if (lowerScheme === 'http' || lowerScheme === 'https') {
    try {
      return new URL(entry).origin;
    } catch {
      return undefined;
    }
  }
  // Custom schemes (capacitor://, app://): the URL API has no origin for them, so keep the entry as written.
  return `${lowerScheme}://${host}${port === undefined ? '' : `:${port}`}`;
}
