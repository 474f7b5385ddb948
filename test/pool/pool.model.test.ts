import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { Pool } from '../../src/pool/pool.js';
import type { EndpointState, Lease, PoolEndpoint } from '../../src/pool/types.js';
import { PowerOfTwoChoices } from '../../src/selectors/power-of-two-choices.js';
import { seededRandom } from '../../src/testing/index.js';
import { FakeClock } from './support.js';

/**
 * A model-based test of Pool: random sequences of add, remove, drain, setEndpoints, acquire,
 * release, health changes, an operator's drain/disable/enable and clock ticks, each checked
 * against a small model of membership, health, draining, operator modes and outstanding
 * leases, with these invariants after every step:
 *
 * - the pool's membership and in-flight counts match the model's;
 * - an endpoint's state agrees with the facts the model knows (leaving > disabled >
 *   operator-drained > unhealthy > ejected|healthy), and an ejected endpoint's ejection is
 *   still in force;
 * - a disabled endpoint is never handed out, not even in panic;
 * - the retries counted are the acquires made with `retry: true`; rates and error rates
 *   are within bounds;
 * - an acquire never hands out an ineligible endpoint while an eligible one exists, and
 *   fails only when none does; with `prefer`, it hands out the preferred endpoint exactly
 *   when that one is eligible and not excluded;
 * - the ejected share never exceeds maxEjectionPercent;
 * - every state change is exactly one event with a reason: replaying the events gives the
 *   current state of every endpoint, and no event is a non-change.
 *
 * At the end every lease is released and in-flight goes back to zero everywhere.
 */

const IDS = Array.from({ length: 6 }, (_, i) => `http://127.0.0.${i + 1}:9000`);
const MAX_EJECTION_PERCENT = 50;

interface Member {
  gen: number;
  priority: number;
  unhealthy: boolean;
  /** Removed with drain: leaves once idle. */
  draining: boolean;
  /** An operator's mode: `pool.drain` (drain), `pool.disable` (maint), `pool.enable` (ready). */
  mode: 'ready' | 'drain' | 'maint';
}

interface Model {
  members: Map<string, Member>;
  /** Outstanding leases: the endpoint id and the generation of its record. */
  leases: Array<{ id: string; gen: number }>;
  nextGen: number;
  retries: number;
}

interface Real {
  pool: Pool;
  clock: FakeClock;
  leases: Lease[];
  panicThreshold: number;
  /** The state each id has according to the events seen (undefined: not in the pool). */
  replayed: Map<string, EndpointState | undefined>;
  eventErrors: string[];
}

function outstanding(m: Model, id: string): number {
  const gen = m.members.get(id)?.gen;
  return m.leases.filter((l) => l.id === id && l.gen === gen).length;
}

/** Records a lease the pool handed out, in the model and in the real world. */
function hold(m: Model, r: Real, lease: Lease): void {
  r.leases.push(lease);
  m.leases.push({ id: lease.endpoint.id, gen: m.members.get(lease.endpoint.id)!.gen });
}

/** `id` joins the model, or (draining) stops draining; either way with `priority`. */
function join(m: Model, id: string, priority: number): void {
  const member = m.members.get(id);
  if (member) {
    member.draining = false; // listing a draining endpoint again cancels the drain
    member.priority = priority;
  } else {
    m.members.set(id, {
      gen: m.nextGen++,
      priority,
      unhealthy: false,
      draining: false,
      mode: 'ready',
    });
  }
}

/** The eligible set by the documented rule, from the states the pool shows. */
function expectedEligible(endpoints: readonly PoolEndpoint[], panicThreshold: number): Set<string> {
  const active = endpoints.filter((e) => e.state !== 'draining' && e.state !== 'disabled');
  const tiers = [...new Set(active.map((e) => e.priority))].sort((a, b) => a - b);
  for (const tier of tiers) {
    const members = active.filter((e) => e.priority === tier);
    const healthy = members.filter((e) => e.state === 'healthy');
    if (healthy.length === 0) continue;
    const panic = healthy.length < panicThreshold * members.length;
    return new Set((panic ? members : healthy).map((e) => e.id));
  }
  if (panicThreshold === 0 || tiers.length === 0) return new Set();
  return new Set(active.filter((e) => e.priority === tiers[0]).map((e) => e.id));
}

function checkInvariants(m: Model, r: Real): void {
  const { pool } = r;
  const endpoints = pool.endpoints;
  expect(endpoints.map((e) => e.id).sort()).toEqual([...m.members.keys()].sort());
  const snapshot = pool.snapshot();
  for (const e of endpoints) {
    const member = m.members.get(e.id)!;
    expect(e.inflight).toBe(outstanding(m, e.id));
    if (member.draining) expect(e.state).toBe('draining');
    else if (member.mode === 'maint') expect(e.state).toBe('disabled');
    else if (member.mode === 'drain') expect(e.state).toBe('draining');
    else if (member.unhealthy) expect(e.state).toBe('unhealthy');
    else expect(['healthy', 'ejected']).toContain(e.state);
    const s = snapshot.endpoints.find((x) => x.id === e.id)!;
    if (e.state === 'ejected') expect(s.ejectedUntil).toBeGreaterThan(r.clock.now());
    if (e.state === 'draining' || e.state === 'disabled') expect(s.ejectedUntil).toBeNull();
    expect(s.rate).toBeGreaterThanOrEqual(0);
    expect(s.errorRate).toBeGreaterThanOrEqual(0);
    expect(s.errorRate).toBeLessThanOrEqual(1);
    expect(r.replayed.get(e.id)).toBe(e.state);
  }
  for (const [id, state] of r.replayed) if (!m.members.has(id)) expect(state).toBeUndefined();
  expect(r.eventErrors).toEqual([]);
  expect(snapshot.totals.inflight).toBe(m.leases.length);
  expect(snapshot.totals.retries).toBe(m.retries);
  const members = endpoints.filter((e) => e.state !== 'draining' && e.state !== 'disabled').length;
  const ejected = snapshot.endpoints.filter((e) => e.ejectedUntil !== null).length;
  expect(ejected * 100).toBeLessThanOrEqual(MAX_EJECTION_PERCENT * members);
}

class AddCommand implements fc.Command<Model, Real> {
  constructor(
    readonly id: string,
    readonly priority: number,
  ) {}
  check(m: Readonly<Model>): boolean {
    return !m.members.has(this.id) || m.members.get(this.id)!.draining;
  }
  run(m: Model, r: Real): void {
    r.pool.add({ url: this.id, priority: this.priority });
    join(m, this.id, this.priority);
    checkInvariants(m, r);
  }
  toString(): string {
    return `add(${this.id}, p${this.priority})`;
  }
}

class RemoveCommand implements fc.Command<Model, Real> {
  constructor(
    readonly id: string,
    readonly drain: boolean,
  ) {}
  check(m: Readonly<Model>): boolean {
    return m.members.has(this.id);
  }
  run(m: Model, r: Real): void {
    expect(r.pool.remove(this.id, { drain: this.drain })).toBe(true);
    if (this.drain && outstanding(m, this.id) > 0) m.members.get(this.id)!.draining = true;
    else m.members.delete(this.id);
    checkInvariants(m, r);
  }
  toString(): string {
    return `remove(${this.id}${this.drain ? ', drain' : ''})`;
  }
}

class SetEndpointsCommand implements fc.Command<Model, Real> {
  constructor(
    readonly endpoints: ReadonlyArray<readonly [id: string, priority: number]>,
    readonly drain: boolean,
  ) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    r.pool.setEndpoints(
      this.endpoints.map(([url, priority]) => ({ url, priority })),
      { drain: this.drain },
    );
    const listed = new Set(this.endpoints.map(([id]) => id));
    for (const id of [...m.members.keys()]) {
      if (listed.has(id)) continue;
      // Survivors of a diff keep their record; the others leave, or drain while busy.
      if (this.drain && outstanding(m, id) > 0) m.members.get(id)!.draining = true;
      else m.members.delete(id);
    }
    for (const [id, priority] of this.endpoints) join(m, id, priority);
    checkInvariants(m, r);
  }
  toString(): string {
    const list = this.endpoints.map(([id, p]) => `${id} p${p}`).join(', ');
    return `setEndpoints([${list}]${this.drain ? ', drain' : ''})`;
  }
}

class AcquireCommand implements fc.Command<Model, Real> {
  constructor(readonly retry = false) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const lease = r.pool.tryAcquire(this.retry ? { retry: true } : undefined);
    const eligible = expectedEligible(r.pool.endpoints, r.panicThreshold);
    if (lease === undefined) {
      expect(eligible.size).toBe(0);
    } else {
      expect(eligible.has(lease.endpoint.id)).toBe(true);
      expect(lease.endpoint.state).not.toBe('disabled');
      hold(m, r, lease);
      if (this.retry) m.retries++;
    }
    checkInvariants(m, r);
  }
  toString(): string {
    return this.retry ? 'acquire({ retry: true })' : 'acquire()';
  }
}

class OperatorCommand implements fc.Command<Model, Real> {
  constructor(
    readonly id: string,
    readonly action: 'drain' | 'disable' | 'enable',
  ) {}
  check(): boolean {
    return true; // unknown ids answer false
  }
  run(m: Model, r: Real): void {
    const member = m.members.get(this.id);
    expect(r.pool[this.action](this.id)).toBe(member !== undefined);
    if (member) {
      member.mode =
        this.action === 'drain' ? 'drain' : this.action === 'disable' ? 'maint' : 'ready';
    }
    checkInvariants(m, r);
  }
  toString(): string {
    return `${this.action}(${this.id})`;
  }
}

class PreferCommand implements fc.Command<Model, Real> {
  constructor(
    readonly id: string,
    readonly excluded: boolean,
  ) {}
  check(): boolean {
    return true; // unknown ids fall through to the selector
  }
  run(m: Model, r: Real): void {
    const exclude = this.excluded ? new Set([this.id]) : undefined;
    const lease = r.pool.tryAcquire(exclude ? { prefer: this.id, exclude } : { prefer: this.id });
    const eligible = expectedEligible(r.pool.endpoints, r.panicThreshold);
    if (exclude) eligible.delete(this.id);
    if (eligible.has(this.id)) {
      expect(lease?.endpoint.id).toBe(this.id);
    } else if (lease === undefined) {
      expect(eligible.size).toBe(0);
    } else {
      expect(eligible.has(lease.endpoint.id)).toBe(true);
    }
    if (lease !== undefined) {
      hold(m, r, lease);
    }
    checkInvariants(m, r);
  }
  toString(): string {
    return `acquire({ prefer: ${this.id}${this.excluded ? ', excluded' : ''} })`;
  }
}

class ReleaseCommand implements fc.Command<Model, Real> {
  constructor(
    readonly index: number,
    readonly ok: boolean,
    readonly retryAfterMs: number,
    readonly latencyMs?: number,
  ) {}
  check(m: Readonly<Model>): boolean {
    return m.leases.length > 0;
  }
  run(m: Model, r: Real): void {
    const i = this.index % m.leases.length;
    const [lease] = r.leases.splice(i, 1);
    const [entry] = m.leases.splice(i, 1);
    lease!.release({
      ok: this.ok,
      ...(this.retryAfterMs > 0 ? { retryAfterMs: this.retryAfterMs } : {}),
      ...(this.latencyMs === undefined ? {} : { latencyMs: this.latencyMs }),
    });
    lease!.release({ ok: false }); // idempotent
    const member = m.members.get(entry!.id);
    if (member?.gen === entry!.gen && member.draining && outstanding(m, entry!.id) === 0) {
      m.members.delete(entry!.id);
    }
    checkInvariants(m, r);
  }
  toString(): string {
    return `release(#${this.index}, ${this.ok ? 'ok' : 'failed'}${this.retryAfterMs ? `, retry-after ${this.retryAfterMs}` : ''}${this.latencyMs === undefined ? '' : `, latency ${this.latencyMs}`})`;
  }
}

class HealthCommand implements fc.Command<Model, Real> {
  constructor(
    readonly id: string,
    readonly healthy: boolean,
  ) {}
  check(): boolean {
    return true; // unknown ids are ignored by the pool
  }
  run(m: Model, r: Real): void {
    r.pool.setHealth(this.id, this.healthy);
    const member = m.members.get(this.id);
    if (member) member.unhealthy = !this.healthy;
    checkInvariants(m, r);
  }
  toString(): string {
    return `setHealth(${this.id}, ${this.healthy})`;
  }
}

class TickCommand implements fc.Command<Model, Real> {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true;
  }
  run(_m: Model, r: Real): void {
    // No check here: reading the pool would bring it up to date, and the next command must
    // find time-dependent state (expiries, ramps) brought up to date by itself.
    r.clock.advance(this.ms);
  }
  toString(): string {
    return `tick(${this.ms})`;
  }
}

const id = fc.constantFrom(...IDS);
const commands = fc.commands(
  [
    fc.tuple(id, fc.integer({ min: 0, max: 2 })).map(([i, p]) => new AddCommand(i, p)),
    fc.tuple(id, fc.boolean()).map(([i, d]) => new RemoveCommand(i, d)),
    fc
      .tuple(
        fc.uniqueArray(fc.tuple(id, fc.integer({ min: 0, max: 2 })), {
          selector: ([i]) => i,
          maxLength: IDS.length,
        }),
        fc.boolean(),
      )
      .map(([list, d]) => new SetEndpointsCommand(list, d)),
    fc.constant(new AcquireCommand()),
    fc.constant(new AcquireCommand()),
    fc.constant(new AcquireCommand(true)),
    fc
      .tuple(
        id,
        fc.constantFrom('drain', 'disable', 'enable') as fc.Arbitrary<
          'drain' | 'disable' | 'enable'
        >,
      )
      .map(([i, a]) => new OperatorCommand(i, a)),
    fc
      .tuple(fc.nat(), fc.boolean(), fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300 })))
      .map(([i, ok, ra]) => new ReleaseCommand(i, ok, ra)),
    fc.tuple(fc.nat(), fc.boolean()).map(([i, ok]) => new ReleaseCommand(i, ok, 0)),
    fc
      .tuple(fc.nat(), fc.boolean(), fc.integer({ min: 0, max: 200 }))
      .map(([i, ok, ms]) => new ReleaseCommand(i, ok, 0, ms)),
    fc.tuple(id, fc.boolean()).map(([i, x]) => new PreferCommand(i, x)),
    fc.tuple(id, fc.boolean()).map(([i, h]) => new HealthCommand(i, h)),
    fc.integer({ min: 1, max: 150 }).map((ms) => new TickCommand(ms)),
  ],
  { maxCommands: 80, size: 'max' },
);

test.prop([commands, fc.constantFrom(0, 0.5, 0.8), fc.integer({ min: 0, max: 2 }), fc.integer()], {
  numRuns: 150,
})('Pool agrees with its model', (cmds, panicThreshold, initial, seed) => {
  const clock = new FakeClock();
  const pool = new Pool({
    endpoints: IDS.slice(0, initial),
    selector: new PowerOfTwoChoices({ random: seededRandom(seed) }),
    now: clock.now,
    panicThreshold,
    slowStartMs: 100,
    outlierDetection: {
      consecutiveFailures: 2,
      baseEjectionMs: 50,
      maxEjectionMs: 200,
      maxEjectionPercent: MAX_EJECTION_PERCENT,
    },
  });
  const real: Real = {
    pool,
    clock,
    leases: [],
    panicThreshold,
    replayed: new Map(),
    eventErrors: [],
  };
  for (const e of pool.endpoints) real.replayed.set(e.id, e.state);
  pool.onStateChange((event) => {
    const id = event.endpoint.id;
    const before = real.replayed.get(id);
    if (typeof event.reason !== 'string' || event.reason === '')
      real.eventErrors.push(`no reason: ${id}`);
    if (event.from !== before)
      real.eventErrors.push(`${id}: event from ${event.from}, last known ${before}`);
    if (event.from === event.to)
      real.eventErrors.push(`${id}: a non-change ${event.from}→${event.to}`);
    real.replayed.set(id, event.to);
  });
  const model: Model = { members: new Map(), leases: [], nextGen: 0, retries: 0 };
  for (const e of pool.endpoints) {
    model.members.set(e.id, {
      gen: model.nextGen++,
      priority: 0,
      unhealthy: false,
      draining: false,
      mode: 'ready',
    });
  }
  fc.modelRun(() => ({ model, real }), cmds);
  // Release everything: in-flight returns to zero everywhere, and draining ones leave, but
  // for those an operator drained: they stay until enabled.
  for (const lease of real.leases) lease.release({ ok: true });
  for (const lease of real.leases) expect(lease.endpoint.inflight).toBe(0);
  expect(pool.snapshot().totals.inflight).toBe(0);
  const held = [...model.members].filter(([, m]) => !m.draining && m.mode === 'drain');
  expect(
    pool.endpoints
      .filter((e) => e.state === 'draining')
      .map((e) => e.id)
      .sort(),
  ).toEqual(held.map(([i]) => i).sort());
  expect(real.eventErrors).toEqual([]);
  void pool.close();
});
