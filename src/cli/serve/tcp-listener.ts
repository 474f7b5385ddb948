import type { TcpListenerConfig } from '../../config/index.js';
import type { Pool } from '../../index.js';
import { createTcpProxy, type TcpProxyOptions, type TcpProxyServer } from '../../tcp/index.js';
import { bind } from './bind.js';
import type { ListenerRuntime } from './factories.js';
import type { Logger } from './logger.js';
import { tcpProxyOptions } from './options.js';

/**
 * A TCP listener: `createTcpProxy` bound to the listen address. The proxy is the server's
 * own `'connection'` handler, so the command line adds nothing per connection. A new pool
 * or new options take a new proxy on the same address: the old one stops accepting and
 * drains its open connections (for up to the drain time) while the new one accepts.
 * @internal
 */
export class TcpListener implements ListenerRuntime {
  readonly #log: Logger;
  readonly #name: string;
  readonly #drainMs: number;
  #server: TcpProxyServer;
  #listen: string | undefined;
  readonly #retiring = new Set<Promise<boolean>>();
  #closing: Promise<boolean> | undefined;

  /** @throws what `createTcpProxy` throws for options or endpoints it refuses. */
  constructor(config: TcpListenerConfig, pool: Pool, log: Logger, name: string, drainMs: number) {
    this.#log = log;
    this.#name = name;
    this.#drainMs = drainMs;
    this.#server = this.#create(config, pool);
  }

  #create(config: TcpListenerConfig, pool: Pool): TcpProxyServer {
    const server = createTcpProxy(pool, tcpProxyOptions(config) as TcpProxyOptions);
    server.on('error', (error) =>
      this.#log.error({ listener: this.#name, error }, 'listener error'),
    );
    return server;
  }

  /** {@inheritDoc ListenerRuntime.listen} */
  listen(listen: string): Promise<string> {
    this.#listen = listen;
    return bind(this.#server, listen);
  }

  /** {@inheritDoc ListenerRuntime.update} */
  async update(config: TcpListenerConfig, pool: Pool): Promise<void> {
    const old = this.#server;
    this.#server = this.#create(config, pool);
    // The old proxy lets go of the address at once; its connections drain.
    const draining = drain(old, this.#drainMs);
    this.#retiring.add(draining);
    void draining.then(() => this.#retiring.delete(draining));
    try {
      await bind(this.#server, this.#listen!);
    } catch (error) {
      this.#log.error({ listener: this.#name, error }, 'listener could not take the new pool');
    }
  }

  /** {@inheritDoc ListenerRuntime.close} */
  close(drainMs: number): Promise<boolean> {
    this.#closing ??= Promise.all([drain(this.#server, drainMs), ...this.#retiring]).then((all) =>
      all.every(Boolean),
    );
    return this.#closing;
  }
}

/**
 * Closes `server` with `drainMs`: it stops accepting at once (its address is free when
 * this returns), then drains. Resolves with true when no connection was cut at the limit.
 */
function drain(server: TcpProxyServer, drainMs: number): Promise<boolean> {
  const started = performance.now();
  const closed = server.close({ drainMs });
  return new Promise<number>((resolve) =>
    server.getConnections((error, count) => resolve(error ? 0 : count)),
  ).then(async (open) => {
    await closed;
    return open === 0 || performance.now() - started < drainMs;
  });
}
