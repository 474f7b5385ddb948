import type { RequestListener } from 'node:http';
import type { RequestHandler } from 'express';
import { Registry } from 'prom-client';
import { describe, expectTypeOf, it } from 'vitest';
import {
  createDashboard,
  type Dashboard,
  type DashboardSnapshot,
  type DashboardStateEvent,
  registerMetrics,
} from '../../src/dashboard/index.js';
import { type Disposable, type EndpointState, HealthMonitor, Pool } from '../../src/index.js';

// Checked by `tsc` (the typecheck covers test/); the runtime part only builds the objects.
describe('switchyard/dashboard: public types', () => {
  it('is a Node request listener and Express middleware, with a lifecycle', async () => {
    const pool = new Pool();
    const dashboard = createDashboard({
      pools: { app: pool },
      monitors: [new HealthMonitor(pool)],
    });
    expectTypeOf(dashboard).toEqualTypeOf<Dashboard>();
    expectTypeOf(dashboard).toMatchTypeOf<RequestListener>();
    expectTypeOf(dashboard).toMatchTypeOf<RequestHandler>();
    expectTypeOf(dashboard.close).returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<
      DashboardSnapshot['pools'][string]['endpoints'][number]['latencyMs']
    >().toEqualTypeOf<{
      readonly p50: number | null;
      readonly p90: number | null;
      readonly p99: number | null;
    }>();
    expectTypeOf<DashboardStateEvent['to']>().toEqualTypeOf<EndpointState | null>();
    expectTypeOf(registerMetrics(new Registry(), { pool })).toEqualTypeOf<Disposable>();
    expectTypeOf(pool.disable).toEqualTypeOf<(id: string, reason?: string) => boolean>();
    expectTypeOf(pool.drain).toEqualTypeOf<(id: string, reason?: string) => boolean>();
    expectTypeOf(pool.enable).toEqualTypeOf<(id: string, reason?: string) => boolean>();
    expectTypeOf<Parameters<Pool['acquire']>[0]>().toMatchTypeOf<{ retry?: boolean } | undefined>();
    await dashboard.close();
  });
});
