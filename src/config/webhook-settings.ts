import { quote, type ValueCheck } from './env-reader.js';

/** Standard Webhooks secrets: `whsec_` + base64 of the key bytes; at least 24 random bytes. */
const MIN_SECRET_BYTES = 24;

/** Checks WEBHOOK_URL: an absolute http(s) URL. */
export function checkWebhookUrl(raw: string): ValueCheck<string> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, error: `WEBHOOK_URL is not a valid URL, got ${quote(raw)}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, error: `WEBHOOK_URL must be an http:// or https:// URL, got ${quote(raw)}` };
  }
  return { ok: true, value: url.toString() };
}

/**
 * Checks WEBHOOK_SECRET and returns the key bytes. Never echoes the value: it is a secret, and this
 * message ends up in logs.
 */
export function checkWebhookSecret(raw: string): ValueCheck<Buffer> {
  const shape = `WEBHOOK_SECRET must be "whsec_" followed by base64 of at least ${MIN_SECRET_BYTES} random bytes`;
  if (!raw.startsWith('whsec_')) return { ok: false, error: `${shape} (it does not start with "whsec_")` };
  const encoded = raw.slice('whsec_'.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return { ok: false, error: `${shape} (the rest is not base64)` };
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_SECRET_BYTES) return { ok: false, error: `${shape} (it decodes to ${key.length} bytes)` };
  return { ok: true, value: key };
}
