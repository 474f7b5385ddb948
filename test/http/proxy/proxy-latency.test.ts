import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../pool/support.js';
import { failOnProcessProblems, makePool, startBackend, startProxy } from '../proxy-support.js';

failOnProcessProblems();

/**
 * GETs `url`; once the first body chunk arrived (so the proxy has seen the response
 * headers), calls `onFirstChunk`, then reads the rest.
 */
function getStreamed(
  url: string,
  onFirstChunk: () => void,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let body = '';
      let first = true;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (first) {
          first = false;
          onFirstChunk();
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe('latency the proxy reports to the pool', () => {
  it.each([
    [200, 'successes'],
    [500, 'failures'],
  ] as const)(
    'is the time to response headers, not to the end of a long body (%i)',
    async (status, counter) => {
      // The pool runs on a clock the backend moves: 5 ms to headers, then 1 s of body.
      const clock = new FakeClock();
      let finish: (() => void) | undefined;
      const backend = await startBackend((_req, res) => {
        clock.advance(5);
        res.writeHead(status, { 'content-type': 'text/event-stream' });
        res.write('data: 1\n\n');
        finish = () => {
          clock.advance(1_000);
          res.end('data: 2\n\n');
        };
      });
      const pool = makePool([backend.url], { now: clock.now });
      const { url } = await startProxy(pool);
      const reply = await getStreamed(url, () => finish?.());
      expect(reply).toEqual({ status, body: 'data: 1\n\ndata: 2\n\n' });
      const endpoint = pool.snapshot().endpoints[0]!;
      expect(endpoint.latency).toBe(5);
      expect(endpoint[counter]).toBe(1);
      expect(endpoint.inflight).toBe(0);
    },
  );
});
