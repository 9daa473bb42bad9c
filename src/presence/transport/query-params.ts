import { badRequest } from './http-errors.js';

/** A query parameter written as plain digits, from `min` to `max`; `fallback` when absent; else 400 `invalid_query`. */
export function parseWholeNumber(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw badRequest('invalid_query', `${name} must be a whole number from ${min} to ${max}`);
  return value;
}
