import { createServer, type Server } from 'node:http';
import { createDashboard, type Dashboard } from '../../dashboard/index.js';
import { bind } from './bind.js';
import type { DashboardRuntime, DashboardTargets } from './factories.js';
import type { Logger } from './logger.js';

/**
 * The dashboard on its own address: `http.createServer` with `createDashboard` as its
 * request handler. After a reload that changed the pools, a dashboard over the new set
 * takes the requests and the old one closes (its event streams end; browsers reconnect).
 * @internal
 */
export class DashboardServer implements DashboardRuntime {
  readonly #server: Server;
  readonly #log: Logger;
  readonly #token: string | undefined;
  #dashboard: Dashboard;

  constructor(token: string | undefined, targets: DashboardTargets, log: Logger) {
    this.#log = log;
    this.#token = token;
    this.#dashboard = this.#create(targets);
    this.#server = createServer();
    this.#server.on('request', this.#dashboard);
  }

  #create(targets: DashboardTargets): Dashboard {
    return createDashboard({
      pools: Object.fromEntries(targets.pools),
      monitors: targets.monitors,
      ...(this.#token === undefined ? {} : { admin: { token: this.#token } }),
    });
  }

  /** {@inheritDoc DashboardRuntime.listen} */
  async listen(listen: string): Promise<string> {
    const bound = await bind(this.#server, listen);
    this.#server.on('error', (error) => this.#log.error({ error }, 'dashboard error'));
    return bound;
  }

  /** {@inheritDoc DashboardRuntime.update} */
  update(targets: DashboardTargets): void {
    const old = this.#dashboard;
    this.#dashboard = this.#create(targets);
    this.#server.off('request', old).on('request', this.#dashboard);
    void old.close();
  }

  /** {@inheritDoc DashboardRuntime.close} */
  async close(_drainMs: number): Promise<boolean> {
    // The page's event streams never end by themselves: close them, then the server.
    await this.#dashboard.close();
    await new Promise<void>((resolve) => {
      if (!this.#server.listening) resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return true;
  }
}
