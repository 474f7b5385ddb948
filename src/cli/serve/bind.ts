import cluster from 'node:cluster';
import type { AddressInfo, ListenOptions, Server } from 'node:net';
import { formatListenAddress, parseListenAddress } from '../../config/index.js';

/**
 * Binds `server` to `listen` (`host:port`, `[v6]:port`); resolves with the address bound,
 * rejects with one line naming the address (`cannot listen on …: address already in use`).
 * @internal
 */
export function bind(
  server: Pick<Server, 'once' | 'off' | 'listen' | 'address'>,
  listen: string,
): Promise<string> {
  const address = parseListenAddress(listen);
  if (typeof address === 'string')
    return Promise.reject(new TypeError(`listen ${listen}: ${address}`));
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(listen, error));
    server.once('error', onError);
    server.listen({ host: address.host, port: address.port, ...sharing(address.port) }, () => {
      server.off('error', onError);
      const bound = server.address() as AddressInfo;
      resolve(formatListenAddress({ host: bound.address, port: bound.port }));
    });
  });
}

/** Platforms where `SO_REUSEPORT` spreads connections over the sockets bound to a port. */
const REUSE_PORT_PLATFORMS: ReadonlySet<string> = new Set(['linux', 'freebsd']);

/**
 * How a server binds. A single process owns its socket (`exclusive`). A `serve --workers`
 * worker binds its own socket on a fixed port with `SO_REUSEPORT`, so the kernel spreads
 * new connections over the workers with no hop through the primary; on a platform without
 * it, or on port 0 (each worker would get a port of its own), the workers share the
 * primary's socket (`node:cluster`'s round robin).
 */
function sharing(port: number): ListenOptions {
  if (!cluster.isWorker) return { exclusive: true };
  if (port !== 0 && REUSE_PORT_PLATFORMS.has(process.platform)) {
    return { exclusive: true, reusePort: true };
  }
  return { exclusive: false };
}

function listenError(listen: string, error: NodeJS.ErrnoException): Error {
  const reason =
    error.code === 'EADDRINUSE'
      ? 'address already in use'
      : error.code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges)'
        : error.code === 'EADDRNOTAVAIL'
          ? 'address not available on this machine'
          : error.message;
  return Object.assign(new Error(`cannot listen on ${listen}: ${reason}`), { code: error.code });
}
