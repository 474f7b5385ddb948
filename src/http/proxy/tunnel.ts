/**
 * An upgraded connection piped to its endpoint, and the lingering close of a socket the
 * proxy ends without tunnelling it.
 * @internal
 */

import type { Duplex } from 'node:stream';

/** How long a socket the proxy ended is read and discarded before it is destroyed, ms. */
const LINGER_MS = 2_000;

/**
 * An open tunnel: the two sockets, ended together. As NGINX: when either side has ended
 * and its data was flushed to the other, the tunnel is over; a close or error on either
 * side ends both at once. A tunnel's lifetime says nothing about the endpoint: its lease is
 * released with no latency sample.
 * @internal
 */
export class Tunnel {
  readonly #client: Duplex;
  readonly #upstream: Duplex;
  #onClose: (() => void) | undefined;
  /** Called once the tunnel is closed (the engine forgets it). */
  onClosed: ((tunnel: Tunnel) => void) | undefined = undefined;

  constructor(client: Duplex, upstream: Duplex, onClose: () => void) {
    this.#client = client;
    this.#upstream = upstream;
    this.#onClose = onClose;
    const close = (): void => this.close();
    upstream.once('finish', close);
    client.once('finish', close);
    upstream.once('close', close);
    client.once('close', close);
  }

  /** Destroys both sockets and releases the lease. Idempotent. */
  close(): void {
    const onClose = this.#onClose;
    if (onClose === undefined) return;
    this.#onClose = undefined;
    this.#upstream.destroy();
    this.#client.destroy();
    onClose();
    this.onClosed?.(this);
  }
}

/**
 * Ends `socket` (after `data`) and reads and discards what the client still sends, so
 * that the end is seen and the connection closes; destroyed after {@link LINGER_MS} at
 * the latest (NGINX's lingering close). A socket left unread never sees the client's end.
 */
export function endAndLinger(socket: Duplex, data: string | undefined): void {
  if (socket.destroyed) return;
  const timer = setTimeout(destroySocket, LINGER_MS, socket);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
  socket.on('error', noop);
  if (data === undefined) socket.end();
  else socket.end(data, 'latin1');
  socket.resume();
}

function destroySocket(socket: Duplex): void {
  socket.destroy();
}

function noop(): void {}
