/** Streamer ids as the contract fixes them: 1 to 64 of letters, digits and `_ . : -`. */
export const STREAMER_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

export function isStreamerId(value: unknown): value is string {
  return typeof value === 'string' && STREAMER_ID_PATTERN.test(value);
}
