import { describeFailure, loadConfig, type SwitchyardConfig } from '../config/index.js';
import { createProxyHandler } from '../http/index.js';
import { createTcpProxy, type TcpProxyOptions } from '../tcp/index.js';
import type { DemoOutput } from './demo-options.js';
import { createLogger } from './serve/logger.js';
import { proxyOptions, tcpProxyOptions } from './serve/options.js';
import { PoolRuntime } from './serve/pool-runtime.js';

/**
 * Runs `switchyard check FILE`: prints every problem of the config file as
 * `path: message, got value` on `stderr` (one line for a file that cannot be read or
 * parsed, with its line and column), or `FILE: ok` on `stdout`.
 * @returns 0 for a valid file, 1 otherwise.
 */
export async function runCheck(
  file: string,
  stdout: DemoOutput,
  stderr: DemoOutput,
): Promise<number> {
  const result = await loadConfig(file);
  if (!result.ok) {
    for (const line of describeFailure(result)) stderr.write(`${line}\n`);
    return 1;
  }
  const problems = await dryBuild(result.config);
  if (problems.length > 0) {
    for (const line of problems) stderr.write(`${line}\n`);
    return 1;
  }
  stdout.write(`${file}: ok\n`);
  return 0;
}

/** Secrets are the running machine's business: `check` validates the file with stand-ins. */
const PLACEHOLDER_SECRETS: Readonly<Record<string, string>> = new Proxy(
  {},
  { get: () => 'a-placeholder-secret-of-32-chars' },
);

/**
 * Builds what it can of the config without binding anything or sending a
 * query (pools with their selectors, health checks and discovery, HTTP and TCP proxies) and closes
 * it again, so that anything the
 * API refuses and the definition let through is reported too.
 */
async function dryBuild(config: SwitchyardConfig): Promise<string[]> {
  const problems: string[] = [];
  const silent = createLogger('text', { write: () => true });
  const pools = new Map<string, PoolRuntime>();
  for (const [name, pool] of Object.entries(config.pools)) {
    try {
      pools.set(name, new PoolRuntime(name, pool, silent));
    } catch (error) {
      problems.push(`pools.${name}: ${(error as Error).message}`);
    }
  }
  for (const [i, listener] of (config.listeners ?? []).entries()) {
    const pool = pools.get(listener.pool);
    if (pool === undefined) continue;
    try {
      if (listener.protocol === 'http') {
        await createProxyHandler(pool.pool, proxyOptions(listener, PLACEHOLDER_SECRETS)).close();
      } else {
        const options = tcpProxyOptions(listener) as TcpProxyOptions;
        await createTcpProxy(pool.pool, options).close({ drainMs: 0 });
      }
    } catch (error) {
      problems.push(`listeners[${i}]: ${(error as Error).message}`);
    }
  }
  await Promise.allSettled([...pools.values()].map((p) => p.close()));
  return problems;
}
