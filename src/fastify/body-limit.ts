/**
 * Fastify's `bodyLimit` for a body the plugin never parses: counted as it streams to the
 * endpoint, not by buffering it.
 * @internal
 */

import type { IncomingMessage } from 'node:http';
import { errorCodes, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ReplyStream } from './reply-stream.js';

const kCount = Symbol('switchyard.bodyCount');

interface Count {
  readonly limit: number;
  readonly reply: FastifyReply;
  readonly res: ReplyStream;
  received: number;
}

type Counted = IncomingMessage & { [kCount]?: Count | undefined };

/**
 * Enforces the route's `bodyLimit` on `request`'s body: a `Content-Length` above it is
 * answered 413 at once (returns false: do not forward); otherwise the bytes are counted
 * as they arrive, and past the limit the proxy's response stream is destroyed (the
 * upstream request aborted, the endpoint not blamed) and 413 is answered when nothing
 * was sent yet. Fastify's own error, so `setErrorHandler` shapes the answer.
 */
export function countBody(request: FastifyRequest, reply: FastifyReply, res: ReplyStream): boolean {
  const raw = request.raw as Counted;
  const limit = request.routeOptions.bodyLimit;
  const length = raw.headers['content-length'];
  if (length !== undefined && Number(length) > limit) {
    reply.send(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    return false;
  }
  if (length === undefined && raw.headers['transfer-encoding'] === undefined) return true;
  if (length === '0') return true;
  raw[kCount] = { limit, reply, res, received: 0 };
  // A listener of its own sees every chunk whoever reads the body: the proxy buffering it
  // or its body stream (which pauses the request while the endpoint is not reading).
  raw.on('data', onData);
  raw.once('end', onEnd);
  return true;
}

function onData(this: Counted, chunk: Buffer): void {
  const count = this[kCount];
  if (count === undefined) return;
  count.received += chunk.length;
  if (count.received <= count.limit) return;
  stop(this);
  const { res, reply } = count;
  // The proxy answered already (and now drains the rest): nothing to cut.
  if (res.writableFinished || res.destroyed) return;
  const sent = res.headersSent;
  res.destroy();
  if (!sent) reply.send(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
}

function onEnd(this: Counted): void {
  stop(this);
}

function stop(raw: Counted): void {
  raw[kCount] = undefined;
  raw.off('data', onData);
  raw.off('end', onEnd);
}
