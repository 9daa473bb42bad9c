import { HttpException, HttpStatus, Logger } from '@nestjs/common';
import { ThrottledLog } from '../../logging/throttled-log.js';
import { isStreamerId } from '../domain/streamer-id.js';

// In a store outage every read is refused: one line each would be the log's flood (see ThrottledLog).
const log = new ThrottledLog(new Logger('HttpError'));

/** HTTP errors in the contract's shape: `{ error: { code, message } }`. */
export function badRequest(code: string, message: string): HttpException {
  return new HttpException({ error: { code, message } }, HttpStatus.BAD_REQUEST);
}

/** A route's `:id` that is not a streamer id: 400 `invalid_id`, before anything is read. */
export function checkStreamerId(id: string): void {
  if (!isStreamerId(id)) throw badRequest('invalid_id', 'streamer ids match ^[A-Za-z0-9_.:-]{1,64}$');
}

/** The store could not be reached: 503 with a generic message; the cause goes to the log, never to the client. */
export function storeUnavailable(error: unknown): HttpException {
  log.write('store call failed', { msg: 'store call failed', error: error instanceof Error ? error.message : String(error) }, Date.now(), 'warn');
  return new HttpException({ error: { code: 'unavailable', message: 'presence store unavailable; try again' } }, HttpStatus.SERVICE_UNAVAILABLE);
}
