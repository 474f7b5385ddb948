// An upstream that answers before the request body is in (a 413 while the client still
// uploads) and closes: the client gets that answer, and nothing is retried or lost.

import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { failOnProcessProblems, makePool, startProxy } from '../proxy-support.js';

failOnProcessProblems();

const BODY = 8 * 1024 * 1024;

describe('an answer before the request body is in', () => {
  it.each([
    ['closes its side', (s: net.Socket) => s.end()],
    ['resets', (s: net.Socket) => s.resetAndDestroy()],
  ])('is forwarded when the upstream then %s', async (_what, close) => {
    let connections = 0;
    const upstream = net.createServer((socket) => {
      connections++;
      socket.on('error', () => {});
      socket.once('data', () => {
        socket.write(
          'HTTP/1.1 413 Payload Too Large\r\nconnection: close\r\ncontent-length: 8\r\n\r\ntoo big!',
        );
        setTimeout(() => close(socket), 20);
      });
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    onTestFinished(() => new Promise<void>((r) => upstream.close(() => r())));
    const { port } = upstream.address() as net.AddressInfo;
    const { url } = await startProxy(makePool([`http://127.0.0.1:${port}`]));

    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${url}/upload`, {
        method: 'POST',
        headers: { 'content-length': String(BODY) },
        agent: false,
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      // The proxy may close the connection before the whole body is sent: that is fine.
      req.on('error', () => {});
      const chunk = Buffer.alloc(64 * 1024, 'u');
      let sent = 0;
      const pump = () => {
        while (sent < BODY) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(answer).toEqual({ status: 413, body: 'too big!' });
    // A POST that reached the upstream is not sent again.
    expect(connections).toBe(1);
  });
});
