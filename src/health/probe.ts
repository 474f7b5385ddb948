import type { PoolEndpoint } from '../pool/types.js';
import type { ScheduledEntry } from './scheduler.js';

/** One endpoint's check state. Idle and running probes sit in the scheduler's heap. @internal */
export interface Probe extends ScheduledEntry {
  readonly id: string;
  endpoint: PoolEndpoint;
  /** idle: waits for its due time (in the heap when started); queued: waits for a slot; running: in flight (in the heap at its deadline). */
  phase: 'idle' | 'queued' | 'running';
  /** The monitor's view: false once `unhealthyThreshold` failures took it out. */
  healthy: boolean;
  lastOk: boolean;
  successes: number;
  failures: number;
  /** The running check's controller; cleared when the check ends or is abandoned. */
  controller: AbortController | undefined;
  /** The check's promise until it settles, even after a timeout abandoned it. */
  pending: Promise<void> | undefined;
  startedAt: number;
  /** `checkNow()` calls waiting for this probe's next result. */
  waiters: Array<() => void> | undefined;
  removed: boolean;
  /** Checks passed and failed in all. */
  passed: number;
  failed: number;
  /** When the last check ended (monitor clock); −1 before the first. */
  checkedAt: number;
  lastDurationMs: number;
  lastError: unknown;
}

/** A probe for `endpoint`: idle, not scheduled, healthy unless the pool says otherwise. @internal */
export function createProbe(endpoint: PoolEndpoint): Probe {
  return {
    id: endpoint.id,
    endpoint,
    due: 0,
    heapIndex: -1,
    phase: 'idle',
    healthy: endpoint.state !== 'unhealthy',
    lastOk: true,
    successes: 0,
    failures: 0,
    controller: undefined,
    pending: undefined,
    startedAt: 0,
    waiters: undefined,
    removed: false,
    passed: 0,
    failed: 0,
    checkedAt: -1,
    lastDurationMs: 0,
    lastError: undefined,
  };
}

/**
 * Rise and fall, as HAProxy: counts a check's result and returns the probe's new health
 * when `healthyThreshold` passes (`unhealthyThreshold` failures) in a row cross it, else
 * `undefined`. A result against the run resets it.
 * @internal
 */
export function riseFall(
  probe: Probe,
  ok: boolean,
  healthyThreshold: number,
  unhealthyThreshold: number,
): boolean | undefined {
  probe.lastOk = ok;
  if (ok) {
    probe.failures = 0;
    if (!probe.healthy && ++probe.successes >= healthyThreshold) return setHealthy(probe, true);
  } else {
    probe.successes = 0;
    if (probe.healthy && ++probe.failures >= unhealthyThreshold) return setHealthy(probe, false);
  }
  return undefined;
}

/** Sets the probe's view of its health; a change starts both counts afresh. @internal */
export function setHealthy(probe: Probe, healthy: boolean): boolean {
  if (probe.healthy !== healthy) {
    probe.healthy = healthy;
    probe.successes = 0;
    probe.failures = 0;
  }
  return healthy;
}
