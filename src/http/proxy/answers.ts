/**
 * The proxy's own answers: 503 when no endpoint is eligible (or the proxy is closed), 502
 * when every try failed, 504 on a timeout, 400 for a request that cannot be forwarded as
 * it stands, 500 for a consumed body, a throwing selector or another internal error. Short text bodies that
 * name the cause and never an endpoint's address.
 * @internal
 */

import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import { isSwitchyardError } from '../../errors.js';
import type { ProxyErrorHandler } from './proxy-options.js';

/** The status the proxy answers `error` with. */
export function statusForError(error: unknown): number {
  if (isSwitchyardError(error)) {
    switch (error.code) {
      case 'ERR_NO_ENDPOINT':
      case 'ERR_POOL_CLOSED':
        return 503;
      case 'ERR_UPSTREAM_UNAVAILABLE':
        return 502;
      case 'ERR_UPSTREAM_TIMEOUT':
        return 504;
      case 'ERR_BAD_REQUEST':
        return 400;
      default:
        return 500;
    }
  }
  return 500;
}

/**
 * Sends a short plain-text answer, or resets the client when a response already started.
 * When the request body was not read to its end, the connection is closed after the
 * answer and the rest of the body drained, so the client can read the answer.
 */
export function sendAnswer(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  text: string,
  extra?: Record<string, string>,
): void {
  if (res.headersSent || res.destroyed || res.writableEnded) {
    res.destroy();
    return;
  }
  const body = `${status} ${STATUS_CODES[status] ?? 'Error'}: ${text}\n`;
  const headers: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...extra,
  };
  const complete = req.complete;
  if (!complete) headers.connection = 'close';
  try {
    res.writeHead(status, headers);
    res.end(body);
  } catch {
    res.destroy();
    return;
  }
  if (!complete) req.resume();
}

/**
 * The text an answer shows for `error`: the cause, without the pool's details (the pool's
 * "no endpoint is eligible: 3 endpoints (2 unhealthy, 1 ejected)" loses everything after
 * the colon) and without the message of errors the proxy did not make.
 */
export function publicMessage(error: unknown): string {
  if (!isSwitchyardError(error)) return 'proxy error';
  const message = error.message;
  if (error.code === 'ERR_NO_ENDPOINT') {
    const colon = message.indexOf(':');
    return colon === -1 ? message : message.slice(0, colon);
  }
  return message;
}

/** Sends the built-in answer for `error`. */
export function sendErrorAnswer(req: IncomingMessage, res: ServerResponse, error: unknown): void {
  sendAnswer(req, res, statusForError(error), publicMessage(error));
}

/**
 * Answers `error` through the application's `onError` hook when there is one, else with
 * the built-in answer; the built-in answer also when the hook throws or rejects. A
 * response already started is ended abruptly instead, never completed as if it were whole.
 */
export function answerError(
  req: IncomingMessage,
  res: ServerResponse,
  error: unknown,
  onError: ProxyErrorHandler | undefined,
): void {
  if (res.headersSent || res.destroyed || res.writableEnded) {
    res.destroy();
    return;
  }
  if (onError === undefined) {
    sendErrorAnswer(req, res, error);
    return;
  }
  const asError = error instanceof Error ? error : new Error(String(error));
  try {
    const result = onError(asError, req, res);
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
      (result as Promise<void>).then(undefined, () => sendErrorAnswer(req, res, error));
    }
  } catch {
    sendErrorAnswer(req, res, error);
  }
}
