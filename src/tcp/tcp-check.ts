import { connect } from 'node:net';
import { HealthCheckError } from '../errors.js';
import type { HealthCheck } from '../health/index.js';
import type { PoolEndpoint } from '../pool/types.js';
import { checkNumber, checkOptions, quote } from '../validate.js';

/** Default `maxBytes`: 16 KiB read at most while waiting for `expect`. */
export const DEFAULT_TCP_CHECK_MAX_BYTES = 16_384;

/** Options of {@link tcpCheck}. */
export interface TcpCheckOptions {
  /**
   * Port to check instead of the endpoint's (HAProxy's `port` on a server line), for a
   * backend whose health listener is separate. @default the endpoint URL's port, or 80/443
   * for http(s)/ws(s) URLs without one
   */
  readonly port?: number;
  /** Bytes to write once connected (a string is sent as UTF-8), e.g. `'PING\r\n'`. @default nothing */
  readonly send?: string | Uint8Array;
  /**
   * What the endpoint must answer: the received text (UTF-8) must contain this string or match
   * this RegExp before the connection closes or `maxBytes` arrive. @default nothing: a
   * successful connect passes
   */
  readonly expect?: string | RegExp;
  /** Most bytes read while waiting for `expect`. @default 16384 */
  readonly maxBytes?: number;
}

const KNOWN = ['port', 'send', 'expect', 'maxBytes'] as const;
const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  'http:': 80,
  'https:': 443,
  'ws:': 80,
  'wss:': 443,
};

function target(endpoint: PoolEndpoint, port: number | undefined): { host: string; port: number } {
  const url = endpoint.parsedUrl;
  // URL keeps IPv6 literals bracketed; sockets want them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const resolved = port ?? (url.port === '' ? DEFAULT_PORTS[url.protocol] : Number(url.port));
  if (host === '' || resolved === undefined) {
    throw new TypeError(
      `tcpCheck needs a host and a port in the endpoint URL, got ${quote(endpoint.url)}`,
    );
  }
  return { host, port: resolved };
}

/**
 * A TCP health check for `HealthMonitor`: connects to the endpoint URL's host and port, and
 * passes once connected — or, with `send`/`expect`, once the answer matches. The socket is
 * always destroyed, and an aborted signal (timeout, `monitor.stop()`) ends it at once.
 *
 * @example
 * ```ts
 * import { HealthMonitor, Pool } from 'switchyard';
 * import { tcpCheck } from 'switchyard/tcp';
 *
 * const pool = new Pool({ endpoints: ['tcp://127.0.0.1:6379'] });
 * const monitor = new HealthMonitor(pool, { check: tcpCheck({ send: 'PING\r\n', expect: '+PONG' }) });
 * monitor.start();
 * ```
 * @throws TypeError or RangeError for a bad option, naming it and quoting the value
 */
export function tcpCheck(options?: TcpCheckOptions): HealthCheck {
  const o = checkOptions('tcpCheck', options, KNOWN);
  const port =
    o.port === undefined
      ? undefined
      : checkNumber('port', o.port, { min: 1, max: 65_535, integer: true });
  const send = o.send;
  if (
    send !== undefined &&
    !(typeof send === 'string' && send.length > 0) &&
    !(send instanceof Uint8Array && send.byteLength > 0)
  ) {
    throw new TypeError(`send must be a non-empty string or Uint8Array, got ${quote(send)}`);
  }
  const expect = o.expect;
  let matches: ((text: string) => boolean) | undefined;
  if (typeof expect === 'string' && expect.length > 0) {
    matches = (text) => text.includes(expect);
  } else if (expect instanceof RegExp) {
    const re = new RegExp(expect.source, expect.flags.replace(/[gy]/g, ''));
    matches = (text) => re.test(text);
  } else if (expect !== undefined) {
    throw new TypeError(`expect must be a non-empty string or a RegExp, got ${quote(expect)}`);
  }
  const maxBytes =
    o.maxBytes === undefined
      ? DEFAULT_TCP_CHECK_MAX_BYTES
      : checkNumber('maxBytes', o.maxBytes, { min: 1, integer: true });
  const expected = expect instanceof RegExp ? String(expect) : quote(expect);

  return (endpoint, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const { host, port: targetPort } = target(endpoint, port);
      const where = `${host.includes(':') ? `[${host}]` : host}:${targetPort}`;
      const socket = connect({ host, port: targetPort, noDelay: true });
      let done = false;
      const finish = (error?: unknown): void => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = (): void => finish(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('error', finish);
      socket.once('close', () =>
        finish(
          new HealthCheckError(
            `health check of ${where}: connection closed before ${matches ? `receiving ${expected}` : 'the check ended'}`,
          ),
        ),
      );
      socket.once('connect', () => {
        if (send !== undefined) {
          socket.write(send, (error) => {
            if (error) finish(error);
            else if (!matches) finish();
          });
        } else if (!matches) {
          finish();
        }
      });
      if (matches) {
        const decoder = new TextDecoder();
        let text = '';
        let bytes = 0;
        socket.on('data', (chunk: Uint8Array) => {
          const take = Math.min(chunk.byteLength, maxBytes - bytes);
          bytes += take;
          text += decoder.decode(take < chunk.byteLength ? chunk.subarray(0, take) : chunk, {
            stream: true,
          });
          if (matches(text)) finish();
          else if (bytes >= maxBytes) {
            finish(
              new HealthCheckError(
                `health check of ${where}: no ${expected} in the first ${maxBytes} bytes`,
              ),
            );
          }
        });
        socket.once('end', () =>
          finish(
            new HealthCheckError(
              `health check of ${where}: connection closed before receiving ${expected}`,
            ),
          ),
        );
      }
    });
}
