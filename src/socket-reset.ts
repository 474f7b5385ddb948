/**
 * Ends a socket with a TCP RST where Node can send one.
 * @internal
 */

import type { Socket } from 'node:net';

/**
 * Ends `socket` with a TCP RST, so the peer cannot mistake the end for a complete stream.
 *
 * Two states take a plain `destroy()` instead:
 * - still connecting: there is no connection to reset;
 * - ended but not finished (its FIN may be queued behind a full send buffer): Node's
 *   `resetAndDestroy()` then fails with `EINVAL` from libuv and leaves the handle open for
 *   good — the socket never emits `close` and its file descriptor leaks. A peer that was
 *   already sent, or is being sent, a FIN gains nothing from a reset anyway.
 * @internal
 */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting || (socket.writableEnded && !socket.writableFinished)) {
    socket.destroy();
    return;
  }
  socket.resetAndDestroy();
}
