import type { Pool as UndiciPool } from 'undici';
import { undici } from '../http/shared/undici.js';

/** One answered (or failed) request of the demo's traffic. @internal */
export interface DemoResponse {
  /** When it was sent, ms since the traffic started. */
  readonly sentAt: number;
  /** Round-trip time in ms. */
  readonly latencyMs: number;
  /** The `x-backend` header of the answer; `undefined` when the request failed. */
  readonly backend: string | undefined;
  /** True for a 2xx answer. */
  readonly ok: boolean;
  /** What went wrong, when not ok. */
  readonly error?: string;
}

/**
 * Sends `GET /` to `origin` at a steady `rate` per second (no more than `maxInflight` at
 * once) until stopped, reporting each outcome. Paced by a 10 ms tick that sends whatever
 * is due, so the rate holds whatever the answers' latency.
 * @internal
 */
export class DemoTraffic {
  readonly #client: UndiciPool;
  readonly #rate: number;
  readonly #maxInflight: number;
  readonly #onResponse: (response: DemoResponse) => void;
  readonly #idle: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #sent = 0;
  #inflight = 0;
  #reporting = true;
  #closing: Promise<void> | undefined;

  constructor(
    origin: string,
    rate: number,
    onResponse: (response: DemoResponse) => void,
    maxInflight = 256,
  ) {
    this.#client = new (undici().Pool)(origin, { connections: 64 });
    this.#rate = rate;
    this.#maxInflight = maxInflight;
    this.#onResponse = onResponse;
  }

  /** Requests sent so far. */
  get sent(): number {
    return this.#sent;
  }

  /** Starts sending. `now` is the demo's clock (ms). */
  start(now: () => number): void {
    this.#startedAt = now();
    this.#timer = setInterval(() => this.#tick(now() - this.#startedAt), 10);
  }

  /**
   * Stops sending and waits (at most `graceMs`) for requests in flight, then closes the
   * client; outcomes of requests cut off by the close are not reported. Idempotent.
   */
  stop(graceMs: number): Promise<void> {
    this.#closing ??= this.#stop(graceMs);
    return this.#closing;
  }

  async #stop(graceMs: number): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.#idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.#reporting = false;
    await this.#client.destroy();
  }

  #tick(elapsed: number): void {
    const due = Math.floor((elapsed * this.#rate) / 1000) - this.#sent;
    for (let i = 0; i < due && this.#inflight < this.#maxInflight; i++) {
      this.#send(elapsed);
    }
  }

  #send(sentAt: number): void {
    this.#sent++;
    this.#inflight++;
    const t0 = performance.now();
    this.#client
      .request({ path: '/', method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000 })
      .then(async ({ statusCode, headers, body }) => {
        await body.dump();
        const backend = headers['x-backend'];
        const ok = statusCode >= 200 && statusCode < 300;
        this.#done({
          sentAt,
          latencyMs: performance.now() - t0,
          backend: typeof backend === 'string' ? backend : undefined,
          ok,
          ...(ok ? {} : { error: `status ${statusCode}` }),
        });
      })
      .catch((error: Error) => {
        this.#done({
          sentAt,
          latencyMs: performance.now() - t0,
          backend: undefined,
          ok: false,
          error: (error as NodeJS.ErrnoException).code ?? error.message,
        });
      });
  }

  #done(response: DemoResponse): void {
    this.#inflight--;
    if (this.#reporting) this.#onResponse(response);
    if (this.#inflight === 0 && this.#timer === undefined) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }
}
