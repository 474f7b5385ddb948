import { createServer, type Server } from 'node:http';
import type { HttpListenerConfig } from '../../config/index.js';
import { createProxyHandler, type ProxyHandler } from '../../http/index.js';
import type { Pool } from '../../index.js';
import { bind } from './bind.js';
import type { ListenerRuntime } from './factories.js';
import type { Logger } from './logger.js';
import { proxyOptions, type SecretSource } from './options.js';

/** How often a closing server's idle keep-alive connections are closed while it drains. */
const DRAIN_POLL_MS = 50;

/**
 * An HTTP listener: `http.createServer` with `createProxyHandler` for requests and upgrades.
 * The handler is the server's own `'request'` listener, so the command line adds no work
 * per request. A new pool or new proxy options put a new handler in its place: open
 * connections stay, their next requests take the new handler, and requests in flight finish
 * on the old one, which then closes.
 * @internal
 */
export class HttpListener implements ListenerRuntime {
  readonly #server: Server;
  readonly #log: Logger;
  readonly #name: string;
  readonly #env: SecretSource;
  #handler: ProxyHandler;
  readonly #retiring = new Set<ProxyHandler>();
  #closing: Promise<boolean> | undefined;

  /** @throws what `createProxyHandler` throws for options it refuses. */
  constructor(
    config: HttpListenerConfig,
    pool: Pool,
    log: Logger,
    name: string,
    env: SecretSource = process.env,
  ) {
    this.#log = log;
    this.#name = name;
    this.#env = env;
    this.#handler = createProxyHandler(pool, proxyOptions(config, env));
    this.#server = createServer();
    this.#server.on('request', this.#handler);
    this.#server.on('upgrade', this.#handler.upgrade);
  }

  /** {@inheritDoc ListenerRuntime.listen} */
  async listen(listen: string): Promise<string> {
    const bound = await bind(this.#server, listen);
    this.#server.on('error', (error) =>
      this.#log.error({ listener: this.#name, error }, 'listener error'),
    );
    return bound;
  }

  /** {@inheritDoc ListenerRuntime.update} */
  update(config: HttpListenerConfig, pool: Pool): Promise<void> {
    const next = createProxyHandler(pool, proxyOptions(config, this.#env));
    const old = this.#handler;
    this.#server.off('request', old).on('request', next);
    this.#server.off('upgrade', old.upgrade).on('upgrade', next.upgrade);
    this.#handler = next;
    // Requests in flight finish on the old handler, which then closes.
    this.#retiring.add(old);
    old.close().then(
      () => void this.#retiring.delete(old),
      (error: unknown) => {
        this.#retiring.delete(old);
        this.#log.warn({ listener: this.#name, error }, 'closing the previous proxy failed');
      },
    );
    return Promise.resolve();
  }

  /** {@inheritDoc ListenerRuntime.close} */
  close(drainMs: number): Promise<boolean> {
    this.#closing ??= this.#drain(drainMs);
    return this.#closing;
  }

  async #drain(drainMs: number): Promise<boolean> {
    const server = this.#server;
    const closed = new Promise<void>((resolve) => {
      if (!server.listening) resolve();
      server.close(() => resolve());
    });
    server.closeIdleConnections();
    const handlers = [this.#handler, ...this.#retiring];
    // Requests in flight finish; connections that fall idle are closed as they do.
    const poll = setInterval(() => server.closeIdleConnections(), DRAIN_POLL_MS);
    let timer: NodeJS.Timeout | undefined;
    const clean = await Promise.race([
      closed.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), drainMs);
      }),
    ]);
    clearInterval(poll);
    clearTimeout(timer);
    if (!clean) server.closeAllConnections();
    await Promise.allSettled(handlers.map((h) => h.close(clean ? {} : { force: true })));
    return clean;
  }
}
