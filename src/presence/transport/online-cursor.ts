import { isStreamerId } from '../domain/streamer-id.js';

/**
 * The `cursor` of `GET /v1/streamers`: opaque to clients, here the last id of the previous page in
 * base64url. Paging by id rather than by offset means a streamer going on- or offline between two pages
 * never shifts the rest of the list.
 */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

/** The id a cursor stands for, or null when the cursor is not one this service made. */
export function decodeCursor(cursor: string): string | null {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  return isStreamerId(id) && encodeCursor(id) === cursor ? id : null;
}
