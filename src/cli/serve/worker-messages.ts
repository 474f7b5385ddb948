/**
 * What the primary and the workers of `switchyard serve --workers N` tell each other over
 * the cluster's IPC channel. Every message is plain JSON.
 * @internal
 */
import type { LatencyHistogram, PoolSnapshot } from '../../index.js';

/** The machine's view of one pool, from the primary: whole, so applying it twice is harmless. */
export interface PoolSync {
  /** Ids the health checks hold down. */
  readonly unhealthy: readonly string[];
  /** Ids an operator drained or disabled (the dashboard's admin routes). */
  readonly operator: Readonly<Record<string, 'drain' | 'disable'>>;
}

/** One pool's figures in one worker. */
export interface PoolReport {
  readonly snapshot: PoolSnapshot;
  /** Cumulative latency histogram per endpoint id (`boundsMs` left out: it is fixed). */
  readonly histograms: Readonly<Record<string, Omit<LatencyHistogram, 'boundsMs'>>>;
}

/** Primary → worker. */
export type ToWorker =
  | {
      readonly t: 'sync';
      readonly pools: Readonly<Record<string, PoolSync>>;
      /** Whether the worker reports its figures (only while a dashboard shows them). */
      readonly report: boolean;
    }
  | { readonly t: 'reload' }
  | { readonly t: 'stop' };

/** Worker → primary. */
export type ToPrimary =
  | { readonly t: 'hello' }
  | { readonly t: 'ready' }
  | { readonly t: 'failed'; readonly message: string }
  | { readonly t: 'stats'; readonly pools: Readonly<Record<string, PoolReport>> }
  | {
      readonly t: 'state';
      readonly pool: string;
      readonly id: string;
      readonly from: string;
      readonly to: string;
      readonly reason: string;
    };

/** True for an object with a string `t`: what a message from the other side looks like. */
export function isMessage(value: unknown): value is { readonly t: string } {
  return (
    typeof value === 'object' && value !== null && typeof (value as { t?: unknown }).t === 'string'
  );
}
