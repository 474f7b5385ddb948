import type { AddressInfo, Server } from 'node:net';
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
    server.listen({ host: address.host, port: address.port, exclusive: true }, () => {
      server.off('error', onError);
      const bound = server.address() as AddressInfo;
      resolve(formatListenAddress({ host: bound.address, port: bound.port }));
    });
  });
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
