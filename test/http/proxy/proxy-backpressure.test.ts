import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { failOnProcessProblems, makePool, startBackend, startProxy } from '../proxy-support.js';

failOnProcessProblems();

const TOTAL = 256 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 1);
// Loopback socket buffers on two hops can hold a few MiB each; the proxy adds at most
// a small fixed amount. Anything near TOTAL would mean the proxy buffers the body.
const BOUND = 48 * 1024 * 1024;

/** Resolves once `read()` has not changed for `quietMs` (bounded by `maxMs`). */
async function settled(read: () => number, quietMs = 300, maxMs = 10_000): Promise<number> {
  const until = Date.now() + maxMs;
  let last = -1;
  while (Date.now() < until) {
    const now = read();
    if (now === last) return now;
    last = now;
    await new Promise((r) => setTimeout(r, quietMs));
  }
  return read();
}

describe('backpressure', () => {
  it('stops reading the upstream response while the client does not read', async () => {
    let pushed = 0;
    const backend = await startBackend(
      (_req, res) => {
        res.writeHead(200, { 'content-length': String(TOTAL) });
        const pump = () => {
          while (pushed < TOTAL) {
            pushed += CHUNK.length;
            if (!res.write(CHUNK)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      },
      { streaming: true },
    );
    const { url } = await startProxy(makePool([backend.url]));
    const req = http.get(url, { agent: false }, (res) => res.pause());
    req.on('error', () => {});
    const stalled = await settled(() => pushed);
    expect(stalled).toBeGreaterThan(0);
    expect(stalled).toBeLessThan(BOUND);
    req.destroy();
  });

  it('stops reading the client upload while the upstream does not read', async () => {
    let backendGotRequest = false;
    const backend = await startBackend(
      (req) => {
        backendGotRequest = true;
        req.pause();
      },
      { streaming: true },
    );
    const { url } = await startProxy(makePool([backend.url]), { retry: { bodyBufferBytes: 0 } });
    let written = 0;
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      headers: { 'content-length': String(TOTAL) },
    });
    req.on('error', () => {});
    const pump = () => {
      while (written < TOTAL) {
        written += CHUNK.length;
        if (!req.write(CHUNK)) return void req.once('drain', pump);
      }
    };
    pump();
    const stalled = await settled(() => written);
    expect(backendGotRequest).toBe(true);
    expect(stalled).toBeLessThan(BOUND);
    req.destroy();
  });
});
