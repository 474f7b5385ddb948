import { isIP } from 'node:net';
import { DiscoveryError } from '../errors.js';
import type { Disposable } from '../events.js';
import type { EndpointInput } from '../pool/index.js';
import { type Discovery, type DiscoveryTarget, Membership } from './discovery.js';
import { query } from './dns-client.js';
import {
  type DnsDiscoveryOptions,
  type ResolvedDnsOptions,
  resolveDnsOptions,
} from './dns-options.js';
import { type AddressRecord, recordsFor, type SrvRecord } from './dns-wire.js';

/** A lookup's outcome: a set and its TTL in seconds, or the failure. */
type Lookup =
  | { ok: true; endpoints: EndpointInput[]; ttl: number; notes: DiscoveryError[] }
  | { ok: false; error: DiscoveryError };

/** Target lookups run at once, at most. */
const TARGET_CONCURRENCY = 16;

function hostOf(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/**
 * Membership from DNS: SRV records (target, port, weight, priority) or A/AAAA records with
 * a port, looked up by a small client of its own that reads TTLs (Node's `resolveSrv`
 * hides them), and refreshed at the records' TTL clamped to `[minRefreshMs,
 * maxRefreshMs]`. The way Envoy's `STRICT_DNS` clusters and HAProxy's `server-template`
 * follow Kubernetes headless Services and Consul DNS.
 *
 * - SRV: each target is resolved (A and AAAA) through the same `servers`, and each address
 *   becomes an endpoint `scheme://address:port` with the record's weight (0 becomes 1: RFC
 *   2782 lets 0 mean "rarely") and a tier from its priority (the lowest priority is tier
 *   0, the next distinct one tier 1, …); `metadata.hostname` holds the target. A target
 *   of `.` ("no service") is skipped; a target with no address is left out and reported.
 * - A/AAAA: each address becomes `scheme://address:port`, weight 1, tier 0.
 * - An answer that gives the same set costs nothing: no `setEndpoints`.
 * - A timeout, SERVFAIL, REFUSED, a malformed or empty answer, and NXDOMAIN (unless
 *   `emptyOnNxdomain`) keep the pools' last good set; `onError` hears the failure and the
 *   next lookup comes after `minRefreshMs`, doubling up to `maxRefreshMs`.
 *
 * Lookups start at the first `attach()` and run until `close()`, on unref'd timers and
 * sockets (they do not keep the process alive). Answers are accepted only from the server asked,
 * with the query's random id and question; a truncated answer is asked again over TCP.
 *
 * @example
 * ```ts
 * import { Pool } from 'switchyard';
 * import { DnsDiscovery } from 'switchyard/discovery';
 *
 * const pool = new Pool({ endpoints: [] });
 * const discovery = new DnsDiscovery({ name: '_http._tcp.users.default.svc.cluster.local' });
 * discovery.attach(pool);
 * discovery.onError((error) => console.warn(error.message)); // the pool keeps its set
 * // …
 * await discovery.close();
 * ```
 */
export class DnsDiscovery implements Discovery {
  readonly #options: ResolvedDnsOptions;
  readonly #members: Membership;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lookup: AbortController | undefined;
  #running: Promise<void> | undefined;
  #started = false;
  #failures = 0;
  #closing: Promise<void> | undefined;

  /**
   * @param options - see {@link DnsDiscoveryOptions}
   * @throws TypeError for a missing or malformed `name`, an unknown `type`, a `port`
   *   missing for A/AAAA or given with SRV, a server that is not an IP literal, an unknown
   *   option; RangeError for a number out of range, and when `minRefreshMs >
   *   maxRefreshMs` (naming both values).
   */
  constructor(options: DnsDiscoveryOptions) {
    this.#options = resolveDnsOptions(options);
    this.#members = new Membership(
      this.#options.drain === undefined ? undefined : { drain: this.#options.drain },
    );
  }

  /** The last good set (what attached pools hold), or undefined before the first answer. */
  get endpoints(): readonly EndpointInput[] | undefined {
    return this.#members.endpoints;
  }

  /**
   * Feeds `pool` with the discovered set: at once when one is known, else at the first
   * answer; then on every change. Starts the lookups on first use.
   * @returns a disposable that detaches `pool` (which keeps its endpoints).
   * @throws TypeError for something without `setEndpoints`, or after `close()`.
   */
  attach(pool: DiscoveryTarget): Disposable {
    const subscription = this.#members.attach(pool);
    if (!this.#started) {
      this.#started = true;
      this.#run();
    }
    return subscription;
  }

  /** Hears every failed lookup (a {@link DiscoveryError}); returns a disposable. */
  onError(listener: (error: DiscoveryError) => void): Disposable {
    return this.#members.onError(listener);
  }

  /**
   * Stops: cancels the timer and the lookup in flight, detaches every pool (they keep
   * their endpoints). Idempotent; resolves when no socket or timer of it is left.
   */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#members.close();
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#lookup?.abort(new DiscoveryError('aborted', 'DnsDiscovery closed'));
      this.#closing = (this.#running ?? Promise.resolve()).then(() => {});
    }
    return this.#closing;
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #run(): void {
    this.#timer = undefined;
    if (this.#members.closed) return;
    const controller = new AbortController();
    this.#lookup = controller;
    this.#running = this.#resolve(controller.signal)
      .catch(
        // Nothing below should throw; if it does, it is one failed lookup, not a dead loop.
        (error: unknown): Lookup => ({
          ok: false,
          error: new DiscoveryError('malformed', `lookup failed: ${(error as Error).message}`, {
            cause: error,
            name: this.#options.name,
          }),
        }),
      )
      .then((outcome) => {
        this.#lookup = undefined;
        if (this.#members.closed) return;
        const { minRefreshMs, maxRefreshMs } = this.#options;
        let delay: number;
        if (outcome.ok) {
          this.#failures = 0;
          this.#members.publish(outcome.endpoints);
          for (const note of outcome.notes) this.#members.fail(note);
          delay = Math.min(maxRefreshMs, Math.max(minRefreshMs, outcome.ttl * 1000));
        } else {
          this.#failures++;
          if (outcome.error.reason === 'nxdomain' && this.#options.emptyOnNxdomain) {
            this.#members.publish([]);
          }
          this.#members.fail(outcome.error);
          delay = Math.min(maxRefreshMs, minRefreshMs * 2 ** Math.min(30, this.#failures - 1));
        }
        this.#timer = setTimeout(() => this.#run(), delay);
        this.#timer.unref?.();
      });
  }

  async #resolve(signal: AbortSignal): Promise<Lookup> {
    const { name, type } = this.#options;
    const result = await query(this.#options.servers, name, type, this.#options.timeoutMs, signal);
    if (!result.ok) return result;
    const { response } = result;
    if (response.rcode === 3) {
      return {
        ok: false,
        error: new DiscoveryError('nxdomain', `no such name: ${type} ${name} (NXDOMAIN)`, {
          rcode: 3,
          name,
        }),
      };
    }
    if (type === 'SRV') {
      const { records, cnameTtl } = recordsFor(response.answers, name, 'SRV');
      return this.#fromSrv(
        records.filter((r) => r.target !== ''),
        cnameTtl,
        signal,
      );
    }
    const { records, cnameTtl } = recordsFor(response.answers, name, type);
    if (records.length === 0) return this.#empty(`${type} ${name}`);
    const port = this.#options.port!;
    const seen = new Set<string>();
    const endpoints: EndpointInput[] = [];
    let ttl = cnameTtl;
    for (const record of records) {
      ttl = Math.min(ttl, record.ttl);
      if (seen.has(record.address)) continue;
      seen.add(record.address);
      endpoints.push({
        url: `${this.#options.scheme}://${hostOf(record.address)}:${port}`,
        metadata: { hostname: name },
      });
    }
    return { ok: true, endpoints, ttl, notes: [] };
  }

  #empty(what: string): Lookup {
    return {
      ok: false,
      error: new DiscoveryError('empty', `no usable record in the answer to ${what}`, {
        name: this.#options.name,
      }),
    };
  }

  async #fromSrv(records: SrvRecord[], cnameTtl: number, signal: AbortSignal): Promise<Lookup> {
    if (records.length === 0) return this.#empty(`SRV ${this.#options.name}`);
    const targets = [...new Set(records.map((r) => r.target))];
    const addresses = new Map<string, { records: AddressRecord[]; ttl: number }>();
    const notes: DiscoveryError[] = [];
    let failed: DiscoveryError | undefined;
    let next = 0;
    const worker = async () => {
      while (next < targets.length && failed === undefined) {
        const target = targets[next++]!;
        const found = await this.#addresses(target, signal);
        if ('error' in found) failed ??= found.error;
        else if (found.records.length === 0) {
          notes.push(
            new DiscoveryError('empty', `SRV target ${target} has no A or AAAA record: left out`, {
              name: target,
            }),
          );
        } else addresses.set(target, found);
      }
    };
    await Promise.all(Array.from({ length: Math.min(TARGET_CONCURRENCY, targets.length) }, worker));
    if (failed !== undefined) return { ok: false, error: failed };
    const tiers = [...new Set(records.map((r) => r.priority))].sort((a, b) => a - b);
    // Lowest priority first, so an address listed twice keeps its best tier.
    const ordered = [...records].sort((a, b) => a.priority - b.priority);
    const endpoints: EndpointInput[] = [];
    const seen = new Set<string>();
    let ttl = cnameTtl;
    for (const record of ordered) {
      const found = addresses.get(record.target);
      if (found === undefined) continue;
      ttl = Math.min(ttl, record.ttl, found.ttl);
      for (const address of found.records) {
        const url = `${this.#options.scheme}://${hostOf(address.address)}:${record.port}`;
        if (seen.has(url)) continue;
        seen.add(url);
        endpoints.push({
          url,
          weight: record.weight === 0 ? 1 : record.weight,
          priority: tiers.indexOf(record.priority),
          metadata: { hostname: record.target },
        });
      }
    }
    if (endpoints.length === 0) {
      return {
        ok: false,
        error: new DiscoveryError(
          'empty',
          `no SRV target of ${this.#options.name} has an address (${targets.join(', ')})`,
          { name: this.#options.name },
        ),
      };
    }
    return { ok: true, endpoints, ttl, notes };
  }

  /** A and AAAA of an SRV target; NXDOMAIN and empty answers give no address. */
  async #addresses(
    target: string,
    signal: AbortSignal,
  ): Promise<{ records: AddressRecord[]; ttl: number } | { error: DiscoveryError }> {
    const literal = isIP(target);
    if (literal !== 0) {
      return {
        records: [
          { type: literal === 6 ? 'AAAA' : 'A', name: target, ttl: Infinity, address: target },
        ],
        ttl: Infinity,
      };
    }
    const { servers, timeoutMs } = this.#options;
    const [a, aaaa] = await Promise.all([
      query(servers, target, 'A', timeoutMs, signal),
      query(servers, target, 'AAAA', timeoutMs, signal),
    ]);
    const records: AddressRecord[] = [];
    let ttl = Number.POSITIVE_INFINITY;
    for (const [result, type] of [
      [a, 'A'],
      [aaaa, 'AAAA'],
    ] as const) {
      if (!result.ok) return { error: result.error };
      const found = recordsFor(result.response.answers, target, type);
      ttl = Math.min(ttl, found.cnameTtl);
      for (const record of found.records) {
        ttl = Math.min(ttl, record.ttl);
        records.push(record);
      }
    }
    return { records, ttl };
  }
}
