import { isLogId, type LogPosition } from '../domain/transition-log.js';

const CURSOR_PREFIX = 'e1.';

/**
 * The cursors of `GET /v1/events`: opaque to clients, they carry the reader's position in each shard
 * of the transition log, and which shards those were (the log's `layout`): `e1.` + base64url of
 * `<layout>;` and the ids, comma-separated (empty for "before the oldest").
 */
export function encodeFeedCursor(position: LogPosition, layout: string): string {
  return CURSOR_PREFIX + Buffer.from(`${layout};${position.map((id) => id ?? '').join(',')}`, 'utf8').toString('base64url');
}

/** The position a feed cursor carries, or null when it is not one this log made (malformed, other shards). */
export function decodeFeedCursor(text: string, shardCount: number, layout: string): LogPosition | null {
  if (!text.startsWith(CURSOR_PREFIX) || text.length > 64 * shardCount + 2 * layout.length + 8) return null;
  const body = text.slice(CURSOR_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(body)) return null;
  const decoded = Buffer.from(body, 'base64url').toString('utf8');
  if (!decoded.startsWith(`${layout};`)) return null;
  const parts = decoded.slice(layout.length + 1).split(',');
  if (parts.length !== shardCount) return null;
  const position = parts.map((part) => (part === '' ? null : part));
  return position.every((id) => id === null || isLogId(id)) ? position : null;
}
