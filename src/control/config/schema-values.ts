// Value builders of the configuration schema (schema.ts, schema-checks.ts): each carries the
// message the loader prints next to the field's file:line, so every field of one kind fails alike.
import { z } from 'zod';

/** The longest timeout accepted, in seconds: INT_MAX milliseconds. */
export const MAX_TIMEOUT_S = 2147483;
export const INT_MAX = 2147483647;
export const U32_MAX = 4294967295;

export const intIn = (min: number, max: number, what = 'an integer') => {
  const m = `must be ${what} ${min}..${max}`;
  return z.number({ invalid_type_error: m, required_error: 'is required' }).int(m).min(min, m).max(max, m);
};
export const secondsIn = (min: number, max: number) => {
  const m = min === 0 ? `must be a number of seconds 0..${max}` : `must be a number of seconds > 0 and <= ${max}`;
  const n = z.number({ invalid_type_error: m, required_error: 'is required' }).finite(m).max(max, m);
  return min === 0 ? n.min(0, m) : n.positive(m);
};
export const bool = () => z.boolean({ invalid_type_error: 'must be true or false', required_error: 'is required' });
export const text = () => z.string({ invalid_type_error: 'must be a string', required_error: 'is required' }).min(1, 'must not be empty');
export const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values as unknown as [T[number], ...T[number][]], { errorMap: () => ({ message: `must be one of ${values.join(', ')}` }) });
export const port = () => intIn(0, 65535);
export const nonZeroPort = () => intIn(1, 65535);
/** An IP address in text; strictly parsed by the loader (validate.ts), not here. */
export const ipText = () => z.string({ invalid_type_error: 'must be an IPv4 or IPv6 address', required_error: 'is required' });
export const absPath = () => text().refine((s) => s.startsWith('/'), 'must be an absolute path');

/** Shortest API bearer token accepted: guessing must not be an option. */
export const MIN_TOKEN_LENGTH = 16;

/** Whether `s` is one of `choices` (narrows it to their union). */
export function isOneOf<T extends string>(choices: readonly T[], s: string): s is T {
  return (choices as readonly string[]).includes(s);
}
