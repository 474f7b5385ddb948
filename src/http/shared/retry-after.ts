/**
 * `Retry-After` (RFC 9110 §10.2.3): either a number of seconds or an HTTP date.
 * @internal
 */

/** The longest `Retry-After` honoured, in ms: a buggy or hostile upstream cannot park itself for a day. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`)
// and asctime (`Sun Nov  6 08:49:37 1994`): the three forms RFC 9110 §5.6.7 says a
// recipient must accept. Anything else is ignored rather than guessed at.
const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850_DATE = /^[A-Z][a-z]{5,8}, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * Parses a `Retry-After` value into a delay in milliseconds from `nowMs`.
 *
 * Returns `undefined` for a missing or malformed value, and `0` for a date already past;
 * the result is capped at `maxMs`.
 *
 * @param value - the header value (the first one if the header was repeated)
 * @param nowMs - the current time in ms since the epoch (injected, for tests)
 * @param maxMs - the cap
 * @example
 * ```ts
 * parseRetryAfter('120', Date.now(), 60_000);                       // 60_000 (capped)
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now, 60_000);   // ms until then
 * ```
 */
export function parseRetryAfter(
  value: string | readonly string[] | undefined,
  nowMs: number,
  maxMs: number = DEFAULT_MAX_RETRY_AFTER_MS,
): number | undefined {
  const text = typeof value === 'string' ? value.trim() : value?.[0]?.trim();
  if (!text) return undefined;
  let ms: number;
  if (isDigits(text)) {
    // delay-seconds = 1*DIGIT; huge values saturate rather than overflow.
    ms = Number(text) * 1000;
  } else if (IMF_FIXDATE.test(text) || RFC850_DATE.test(text) || ASCTIME_DATE.test(text)) {
    // asctime carries no zone: it is GMT by definition.
    const at = Date.parse(text.endsWith('GMT') ? text : `${text} GMT`);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  } else {
    return undefined;
  }
  if (!(ms > 0)) return 0;
  return Math.min(ms, maxMs);
}

function isDigits(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
