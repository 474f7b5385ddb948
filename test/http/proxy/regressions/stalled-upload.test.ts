import http, { type IncomingMessage } from 'node:http';
import { expect, it } from 'vitest';
import {
  eventually,
  failOnProcessProblems,
  makePool,
  startBackend,
  startProxy,
} from '../../proxy-support.js';

// A streamed upload is read by undici chunk by chunk from the proxy's body iterator, and
// undici does not stop an iterator when the upstream fails. While the client's upload is
// stalled mid-body, a failing or early-answering upstream must still end the exchange at
// once: the client gets its answer, the lease comes back, and the client request is let go.

failOnProcessProblems();

/**
 * Starts a POST of 1 MB through the proxy at `url`, sends 200 kB of it and then nothing
 * more; resolves with the proxy's answer (the upload still stalled) and the request.
 */
async function stalledUpload(
  url: string,
): Promise<{ req: http.ClientRequest; res: IncomingMessage }> {
  const req = http.request(url, {
    method: 'POST',
    agent: false,
    headers: { 'content-length': '1000000' },
  });
  const answer = new Promise<IncomingMessage | Error>((resolve) => {
    req.on('response', resolve);
    req.on('error', resolve);
  });
  req.write(Buffer.alloc(200_000, 1));
  const res = await answer;
  if (res instanceof Error) throw res;
  return { req, res };
}

it('answers 502 when the upstream drops the connection while the upload is stalled', async () => {
  const backend = await startBackend(
    (req) => {
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen >= 100_000) req.socket.destroy();
      });
    },
    { streaming: true },
  );
  const pool = makePool([backend.url]);
  const { url } = await startProxy(pool, { retry: { bodyBufferBytes: 0 } });
  const { req, res } = await stalledUpload(url);
  expect(res.statusCode).toBe(502);
  res.resume();
  await eventually(() => pool.get(backend.url)?.inflight === 0);
  expect(pool.snapshot().endpoints[0]!.failures).toBe(1);
  req.destroy();
});

it('forwards an answer the upstream gives before reading the whole upload, and lets the upload go', async () => {
  const backend = await startBackend(
    (req, res) => {
      req.once('data', () => res.end('early\n'));
    },
    { streaming: true },
  );
  const pool = makePool([backend.url]);
  const { url } = await startProxy(pool, { retry: { bodyBufferBytes: 0 } });
  const { req, res } = await stalledUpload(url);
  expect(res.statusCode).toBe(200);
  let body = '';
  for await (const chunk of res) body += chunk;
  expect(body).toBe('early\n');
  await eventually(() => pool.get(backend.url)?.inflight === 0);
  expect(pool.snapshot().endpoints[0]!.failures).toBe(0);
  req.destroy();
});
