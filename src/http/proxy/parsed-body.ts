/**
 * Forwarding a body that a body parser (Express `express.json()`, `body-parser`, …)
 * already read from the stream: it is rebuilt from `req.body`, or refused.
 * @internal
 */

import type { IncomingMessage } from 'node:http';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;
const CHARSET = /;\s*charset\s*=\s*("[^"]*"|[^;\s]*)/i;

/**
 * The bytes to send for a request whose stream was already consumed, from `req.body`:
 * a Buffer or typed array as is; a string as UTF-8; an object as JSON when the request's
 * content type is JSON (or absent), or as a form when it is
 * `application/x-www-form-urlencoded` and every value is a string. `headers` (the flat
 * outgoing array) gets a matching `content-length` (and a `content-type` when there was
 * none). Returns `undefined` when the body cannot be rebuilt faithfully.
 *
 * The bytes are the parser's decoded result, so the headers must describe them, not the
 * bytes the client sent: `content-encoding` is dropped (body parsers inflate gzip, deflate
 * and br), and when the body was encoded here as UTF-8 (a string or an object), a
 * `charset` other than UTF-8 in the content type becomes `utf-8`.
 */
export function replaceBody(req: IncomingMessage, headers: string[]): Buffer | undefined {
  const parsed = (req as { body?: unknown }).body;
  let contentType: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === 'content-type') {
      contentType = headers[i + 1];
      break;
    }
  }
  let bytes: Buffer | undefined;
  let setType: string | undefined;
  let utf8 = true;
  if (Buffer.isBuffer(parsed)) {
    bytes = parsed;
    utf8 = false;
  } else if (parsed instanceof Uint8Array) {
    bytes = Buffer.from(parsed.buffer, parsed.byteOffset, parsed.byteLength);
    utf8 = false;
  } else if (typeof parsed === 'string') bytes = Buffer.from(parsed);
  else if (parsed !== null && typeof parsed === 'object') {
    if (contentType === undefined || JSON_TYPE.test(contentType)) {
      bytes = Buffer.from(JSON.stringify(parsed));
      if (contentType === undefined) setType = 'application/json';
    } else if (FORM_TYPE.test(contentType)) {
      const form = toForm(parsed as Record<string, unknown>);
      if (form !== undefined) bytes = Buffer.from(form);
    }
  }
  if (bytes === undefined) return undefined;
  let w = 0;
  for (let r = 0; r < headers.length; r += 2) {
    const name = headers[r]!.toLowerCase();
    if (name === 'content-length' || name === 'content-encoding') continue;
    const value = headers[r + 1]!;
    headers[w++] = headers[r]!;
    headers[w++] = utf8 && name === 'content-type' ? withUtf8Charset(value) : value;
  }
  headers.length = w;
  headers.push('content-length', String(bytes.length));
  if (setType !== undefined) headers.push('content-type', setType);
  return bytes;
}

/** `text/plain; charset=iso-8859-1` → `text/plain; charset=utf-8`; no charset, no change. */
function withUtf8Charset(contentType: string): string {
  return contentType.replace(CHARSET, (match, value: string) =>
    /^"?utf-8"?$/i.test(value) ? match : match.slice(0, match.length - value.length) + 'utf-8',
  );
}

function toForm(value: Record<string, unknown>): string | undefined {
  const form = new URLSearchParams();
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string') form.append(key, v);
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) {
      for (const x of v as string[]) form.append(key, x);
    } else return undefined; // nested (qs "extended") objects cannot be rebuilt faithfully
  }
  return form.toString();
}
