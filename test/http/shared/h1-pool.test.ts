// The proxy's own HTTP/1.1 client, against scripted upstreams on raw sockets: what it writes,
// how it reads odd and hostile answers, its deadlines, its connection limit and reuse.

import { once } from 'node:events';
import net from 'node:net';
import type { Dispatcher } from 'undici';
import { beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import {
  type BodySink,
  fastClientAvailable,
  H1Pool,
  type H1Settings,
  PUSH_BODY,
  type PushBody,
} from '../../../src/http/shared/h1-pool.js';
import { failOnProcessProblems } from '../proxy-support.js';

failOnProcessProblems();

const SETTINGS: H1Settings = {
  connectMs: 1_000,
  headersMs: 2_000,
  idleMs: 2_000,
  connections: null,
  keepAliveTimeoutMs: 4_000,
};

/** A raw upstream: `answer` sees each connection and every request head (and body) read on it. */
interface Raw {
  readonly url: URL;
  /** Every connection accepted, in order. */
  readonly sockets: net.Socket[];
  /** Everything each connection sent, as latin1 text. */
  readonly received: string[];
}

async function rawServer(
  answer: (socket: net.Socket, request: string, index: number) => void,
): Promise<Raw> {
  const sockets: net.Socket[] = [];
  const received: string[] = [];
  const server = net.createServer((socket) => {
    const index = sockets.length;
    sockets.push(socket);
    received.push('');
    let pending = '';
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      received[index] += chunk.toString('latin1');
      pending += chunk.toString('latin1');
      // One request per head (bodies are checked from `received`).
      let end = pending.indexOf('\r\n\r\n');
      while (end !== -1) {
        const head = pending.slice(0, end + 4);
        pending = pending.slice(end + 4);
        const length = /content-length: (\d+)/i.exec(head);
        if (length !== null) pending = pending.slice(Number(length[1]));
        answer(socket, head, index);
        end = pending.indexOf('\r\n\r\n');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(async () => {
    for (const s of sockets) s.destroy();
    server.close();
    await once(server, 'close');
  });
  const { port } = server.address() as net.AddressInfo;
  return { url: new URL(`http://127.0.0.1:${port}`), sockets, received };
}

interface Outcome {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  informational: number[];
  body: string;
  trailers: Record<string, string | string[] | undefined>;
  error: (Error & { code?: string }) | undefined;
}

/** Sends one request and resolves when it ended, either way. */
function send(
  pool: H1Pool,
  opts: Partial<Dispatcher.DispatchOptions> = {},
  hooks: {
    onData?: (c: Dispatcher.DispatchController) => void;
    onBytes?: (n: number) => void;
    throwOnData?: boolean;
  } = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = {
      status: 0,
      headers: {},
      informational: [],
      body: '',
      trailers: {},
      error: undefined,
    };
    pool.dispatch(
      { method: 'GET', path: '/', headers: [], body: null, ...opts } as Dispatcher.DispatchOptions,
      {
        onResponseStart(_c, status, headers) {
          if (status < 200) out.informational.push(status);
          else {
            out.status = status;
            out.headers = headers as Outcome['headers'];
          }
        },
        onResponseData(c, chunk) {
          if (hooks.throwOnData) throw new Error('the handler failed');
          out.body += chunk.toString('latin1');
          hooks.onBytes?.(chunk.length);
          hooks.onData?.(c);
        },
        onResponseEnd(_c, trailers) {
          out.trailers = trailers as Outcome['trailers'];
          resolve(out);
        },
        onResponseError(_c, error) {
          out.error = error as Outcome['error'];
          resolve(out);
        },
      },
    );
  });
}

/** The way responses are read in the tests running now (each block pins one). */
let readMode: 'adaptive' | 'consume' | 'data' = 'adaptive';

function makePool(url: URL, settings: Partial<H1Settings> = {}): H1Pool {
  const pool = new H1Pool(url, { ...SETTINGS, readMode, ...settings });
  onTestFinished(() => pool.destroy());
  return pool;
}

const ok = (body = 'ok', extra = '') =>
  `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n${extra}\r\n${body}`;

// Every test in each way of reading: the parser consuming the handle, the socket's 'data'
// (bodies passed on as slices), and the default, which picks per response.
describe.each(['adaptive', 'consume', 'data'] as const)(
  'the proxy’s HTTP/1.1 client, responses read as %s',
  (mode) => {
    beforeEach(() => {
      readMode = mode;
    });

    it('is available on this Node (its parser binding has the expected shape)', () => {
      expect(fastClientAvailable).toBe(true);
    });

    it('writes one head: Host first, then Connection, then the headers as given', async () => {
      const raw = await rawServer((socket) => socket.write(ok()));
      const pool = makePool(raw.url);
      const got = await send(pool, {
        method: 'POST',
        path: '/a?b=1',
        headers: ['X-One', '1', 'x-two', ['2a', '2b']] as unknown as string[],
        body: Buffer.from('hello'),
      });
      expect(got.status).toBe(200);
      expect(raw.received[0]).toBe(
        `POST /a?b=1 HTTP/1.1\r\nhost: ${raw.url.host}\r\nconnection: keep-alive\r\nX-One: 1\r\nx-two: 2a\r\nx-two: 2b\r\ncontent-length: 5\r\n\r\nhello`,
      );
    });

    it('keeps a given Host, sends content-length: 0 for an empty POST and none for a GET', async () => {
      const raw = await rawServer((socket) => socket.write(ok()));
      const pool = makePool(raw.url);
      await send(pool, { method: 'POST', headers: ['Host', 'example.test'] });
      await send(pool);
      expect(raw.received[0]).toBe(
        'POST / HTTP/1.1\r\nhost: example.test\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n' +
          `GET / HTTP/1.1\r\nhost: ${raw.url.host}\r\nconnection: keep-alive\r\n\r\n`,
      );
    });

    it.each([
      ['a CR LF in a value', ['x-a', 'v\r\nx-injected: 1'], 'UND_ERR_INVALID_ARG'],
      ['a bad name', ['x a', 'v'], 'UND_ERR_INVALID_ARG'],
      ['Transfer-Encoding', ['transfer-encoding', 'chunked'], 'UND_ERR_INVALID_ARG'],
      ['Upgrade', ['upgrade', 'websocket'], 'UND_ERR_INVALID_ARG'],
      ['Expect', ['expect', '100-continue'], 'UND_ERR_NOT_SUPPORTED'],
      ['two Hosts', ['host', 'a', 'Host', 'b'], 'UND_ERR_INVALID_ARG'],
      ['a bad Content-Length', ['content-length', '1e3'], 'UND_ERR_INVALID_ARG'],
    ])('refuses %s before writing anything', async (_what, headers, code) => {
      const raw = await rawServer((socket) => socket.write(ok()));
      const pool = makePool(raw.url);
      const got = await send(pool, { headers });
      expect(got.error?.code).toBe(code);
      expect(raw.sockets).toHaveLength(0);
    });

    it.each([
      ['a space', '/a b'],
      ['a CR LF', '/a\r\nx: 1'],
      ['no leading slash', 'a'],
    ])('refuses a path with %s', async (_what, path) => {
      const raw = await rawServer((socket) => socket.write(ok()));
      const got = await send(makePool(raw.url), { path });
      expect(got.error?.code).toBe('UND_ERR_INVALID_ARG');
      expect(raw.sockets).toHaveLength(0);
    });

    it('reads a head of many headers that arrives in pieces, in order, repeated names as lists', async () => {
      const lines = Array.from({ length: 70 }, (_, i) => `x-h${i}: v${i}\r\n`).join('');
      const response = `HTTP/1.1 200 OK\r\n${lines}set-cookie: a=1\r\nset-cookie: b=2\r\ncontent-length: 2\r\n\r\nok`;
      const raw = await rawServer((socket) => {
        // A byte at a time for the first part, then the rest.
        let at = 0;
        const drip = () => {
          if (at < 200) {
            socket.write(response[at++]!);
            setImmediate(drip);
          } else socket.write(response.slice(at));
        };
        drip();
      });
      const got = await send(makePool(raw.url));
      expect(got.status).toBe(200);
      expect(Object.keys(got.headers).slice(0, 70)).toEqual(
        Array.from({ length: 70 }, (_, i) => `x-h${i}`),
      );
      expect(got.headers['x-h69']).toBe('v69');
      expect(got.headers['set-cookie']).toEqual(['a=1', 'b=2']);
      expect(got.body).toBe('ok');
    });

    it('reads the same answer however it is split: a 1xx, a head, a body holding CR LF CR LF', async () => {
      const body = 'ab\r\n\r\ncd\r\n\r\n';
      const response = `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nx-a: 1\r\n\r\n${body}`;
      let split = 1;
      const raw = await rawServer((socket) => {
        const k = split;
        socket.write(response.slice(0, k));
        setTimeout(() => socket.write(response.slice(k)), 3);
      });
      const pool = makePool(raw.url);
      for (; split < response.length; split++) {
        const got = await send(pool);
        expect({ split, status: got.status, body: got.body, error: got.error }).toEqual({
          split,
          status: 200,
          body,
          error: undefined,
        });
      }
      // Every answer was whole, so one connection carried them all.
      expect(raw.sockets).toHaveLength(1);
    });

    it('reads a body a byte at a time', async () => {
      const response = `HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0123456789`;
      const raw = await rawServer((socket) => {
        let at = 0;
        const drip = () => {
          if (at < response.length) {
            socket.write(response[at++]!);
            setTimeout(drip, 1);
          }
        };
        drip();
      });
      const pool = makePool(raw.url);
      expect((await send(pool)).body).toBe('0123456789');
      expect((await send(pool)).body).toBe('0123456789');
      expect(raw.sockets).toHaveLength(1);
    });

    it('does not reuse a connection that sent part of another message after the answer', async () => {
      const raw = await rawServer((socket, _head, index) => {
        socket.write(index === 0 ? `${ok('first')}HTTP/1.1 200 O` : ok('second'));
      });
      const pool = makePool(raw.url);
      expect((await send(pool)).body).toBe('first');
      expect((await send(pool)).body).toBe('second');
      expect(raw.sockets).toHaveLength(2);
    });

    it('does not reuse a connection that sent more than the response: the extra is never an answer', async () => {
      const raw = await rawServer((socket, _head, index) => {
        // A second, well-formed answer in the same packet (no body, so it parses cleanly).
        if (index === 0) socket.write(`${ok('first')}HTTP/1.1 204 No Content\r\n\r\n`);
        else socket.write(ok('second'));
      });
      const pool = makePool(raw.url);
      expect((await send(pool)).body).toBe('first');
      const second = await send(pool);
      expect(second.body).toBe('second');
      expect(raw.sockets).toHaveLength(2);
    });

    it('drops an idle connection that speaks unasked', async () => {
      const raw = await rawServer((socket) => {
        socket.write(ok());
        setTimeout(() => socket.write('HTTP/1.1 204 No Content\r\n\r\n'), 20);
      });
      const pool = makePool(raw.url);
      await send(pool);
      await once(raw.sockets[0]!, 'close');
      expect((await send(pool)).body).toBe('ok');
      expect(raw.sockets).toHaveLength(2);
    });

    it('reuses a kept-alive connection, and closes it after keepAliveTimeoutMs idle', async () => {
      const raw = await rawServer((socket) => socket.write(ok()));
      const pool = makePool(raw.url, { keepAliveTimeoutMs: 150 });
      await send(pool);
      await send(pool);
      expect(raw.sockets).toHaveLength(1);
      const t0 = Date.now();
      await once(raw.sockets[0]!, 'close');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
    });

    it('keeps an idle connection no longer than the server’s Keep-Alive timeout, less 2 s', async () => {
      const raw = await rawServer((socket, head) =>
        socket.write(
          ok(
            'ok',
            head.includes('/short') ? 'keep-alive: timeout=2\r\n' : 'keep-alive: timeout=3\r\n',
          ),
        ),
      );
      const pool = makePool(raw.url, { keepAliveTimeoutMs: 4_000 });
      // timeout=2 leaves nothing: not reused.
      await send(pool, { path: '/short' });
      await send(pool);
      expect(raw.sockets).toHaveLength(2);
      // timeout=3: idle for about 1 s, not the 4 s of the setting.
      const t0 = Date.now();
      await once(raw.sockets[1]!, 'close');
      const idle = Date.now() - t0;
      expect(idle).toBeGreaterThanOrEqual(800);
      expect(idle).toBeLessThan(2_500);
    });

    it('closes after a response that says Connection: close, or asked with it', async () => {
      const raw = await rawServer((socket, head) =>
        socket.write(ok('ok', head.includes('/close-answer') ? 'connection: close\r\n' : '')),
      );
      const pool = makePool(raw.url);
      await send(pool, { path: '/close-answer' });
      await send(pool, { headers: ['connection', 'close'] });
      await send(pool);
      expect(raw.sockets).toHaveLength(3);
      expect(raw.received[1]).toContain('connection: close\r\n');
    });

    it('queues requests beyond `connections` and serves them in order on the ones it has', async () => {
      const raw = await rawServer((socket, head) => {
        const path = /GET (\S+)/.exec(head)![1]!;
        setTimeout(() => socket.write(ok(path)), 10);
      });
      const pool = makePool(raw.url, { connections: 2 });
      const got = await Promise.all(
        ['/1', '/2', '/3', '/4', '/5'].map((path) => send(pool, { path })),
      );
      expect(got.map((g) => g.body)).toEqual(['/1', '/2', '/3', '/4', '/5']);
      expect(raw.sockets).toHaveLength(2);
    });

    it('reads a body delimited by the end of the connection', async () => {
      const raw = await rawServer((socket) => {
        socket.write('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\npart one, ');
        setTimeout(() => socket.end('part two'), 20);
      });
      const got = await send(makePool(raw.url));
      expect(got.error).toBeUndefined();
      expect(got.body).toBe('part one, part two');
    });

    it('reads chunked bodies and their trailers', async () => {
      const raw = await rawServer((socket) =>
        socket.write(
          'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nx-checksum: 42\r\n\r\n',
        ),
      );
      const got = await send(makePool(raw.url));
      expect(got.body).toBe('abcde');
      expect(got.trailers).toEqual({ 'x-checksum': '42' });
    });

    it('passes 1xx answers before the final one and skips a HEAD answer’s body', async () => {
      const raw = await rawServer((socket, head) => {
        if (head.startsWith('HEAD'))
          socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n');
        else
          socket.write(
            `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n${ok()}`,
          );
      });
      const pool = makePool(raw.url);
      const got = await send(pool);
      expect(got.informational).toEqual([100, 103]);
      expect(got.body).toBe('ok');
      const head = await send(pool, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers['content-length']).toBe('1000');
      expect(head.body).toBe('');
      // The same connection served both: the HEAD answer left nothing unread behind it.
      expect((await send(pool)).body).toBe('ok');
      expect(raw.sockets).toHaveLength(1);
    });

    it.each([
      ['a bad status line', 'HTTP/1.1 2OO OK\r\n\r\n'],
      [
        'Content-Length with chunked',
        'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
      ],
      [
        'two different Content-Lengths',
        'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd',
      ],
      ['a CR in a header value', 'HTTP/1.1 200 OK\r\nx-a: 1\rx-b: 2\r\ncontent-length: 0\r\n\r\n'],
      [
        'an unasked upgrade',
        'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n',
      ],
    ])('fails on %s, and the process carries on', async (_what, response) => {
      const raw = await rawServer((socket) => socket.write(response));
      const got = await send(makePool(raw.url));
      expect(got.error).toBeInstanceOf(Error);
      // Refused before any head reached the handler.
      expect(got.status).toBe(0);
    });

    it('fails with a socket error when the upstream closes mid-body', async () => {
      const raw = await rawServer((socket) => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this');
        setTimeout(() => socket.destroy(), 20);
      });
      const got = await send(makePool(raw.url));
      expect(got.status).toBe(200);
      expect(got.error?.code).toBe('UND_ERR_SOCKET');
    });

    it('times out waiting for the head, and between body chunks', async () => {
      const raw = await rawServer((socket, head) => {
        if (head.includes('/stall-body'))
          socket.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc');
      });
      const pool = makePool(raw.url, { headersMs: 100, idleMs: 100 });
      const [headers, body] = await Promise.all([send(pool), send(pool, { path: '/stall-body' })]);
      expect(headers.error?.code).toBe('UND_ERR_HEADERS_TIMEOUT');
      expect(body.error?.code).toBe('UND_ERR_BODY_TIMEOUT');
      expect(body.body).toBe('abc');
    });

    it('reports a refused connection with its code', async () => {
      const closed = net.createServer().listen(0, '127.0.0.1');
      await once(closed, 'listening');
      const { port } = closed.address() as net.AddressInfo;
      closed.close();
      await once(closed, 'close');
      const got = await send(makePool(new URL(`http://127.0.0.1:${port}`)));
      expect(got.error?.code).toBe('ECONNREFUSED');
    });

    it('streams an iterator body chunked, or by its declared length and never past it', async () => {
      const raw = await rawServer((socket) => socket.write(ok()));
      const pool = makePool(raw.url);
      async function* parts(...texts: string[]) {
        for (const t of texts) yield Buffer.from(t);
      }
      await send(pool, { method: 'POST', body: parts('ab', '', 'cde') as never });
      expect(raw.received[0]).toMatch(
        /transfer-encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n$/,
      );
      const over = await send(pool, {
        method: 'POST',
        headers: ['content-length', '4'],
        body: parts('ab', 'cdef') as never,
      });
      expect(over.status).toBe(200);
      expect(raw.received.join('')).toMatch(/content-length: 4\r\n\r\nabcd$/);
      const short = await send(pool, {
        method: 'POST',
        headers: ['content-length', '9'],
        body: parts('ab') as never,
      });
      expect(short.error?.code).toBe('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
    });

    it('ends the head before the last chunk of an empty streamed body', async () => {
      const raw = await rawServer((socket) => socket.write(ok()));
      async function* nothing() {}
      const got = await send(makePool(raw.url), { method: 'POST', body: nothing() as never });
      expect(got.status).toBe(200);
      expect(raw.received[0]).toMatch(/transfer-encoding: chunked\r\n\r\n0\r\n\r\n$/);
    });

    it('takes a pushed body chunk by chunk, chunked, an empty one included', async () => {
      const raw = await rawServer((socket) => socket.write(ok()));
      const pool = makePool(raw.url);
      const pushed = (...parts: string[]): PushBody => ({
        [PUSH_BODY]: true,
        start(sink) {
          for (const p of parts) sink.chunk(Buffer.from(p), false);
          sink.end();
        },
        resume() {},
      });
      expect((await send(pool, { method: 'POST', body: pushed() as never })).status).toBe(200);
      expect((await send(pool, { method: 'POST', body: pushed('ab', 'c') as never })).status).toBe(
        200,
      );
      // (This scripted upstream does not read chunked bodies, so each may use a connection.)
      const all = raw.received.join('');
      expect(all).toContain('transfer-encoding: chunked\r\n\r\n0\r\n\r\n');
      expect(all).toContain('transfer-encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n');
    });

    it('frees an owned pushed chunk once written; never a borrowed one, a slice of a shared buffer or a small one', async () => {
      const raw = await rawServer((socket) => socket.write(ok()));
      const pool = makePool(raw.url);
      const N = 32 * 1024; // over the size below which the collector is left to it
      const borrowed = Buffer.alloc(N, 'b');
      const whole = Buffer.alloc(2 * N, 's');
      const slice = whole.subarray(N); // owned, but shares its ArrayBuffer
      const pooled = Buffer.from('pooled'); // a slice of Node's shared pool
      const neighbour = Buffer.from('neighbour'); // likely in the same pool
      const body = (pieces: [Buffer, boolean][], length?: number) => {
        const push: PushBody = {
          [PUSH_BODY]: true,
          start(sink) {
            for (const [b, own] of pieces) sink.chunk(b, own);
            sink.end();
          },
          resume() {},
        };
        return {
          method: 'POST',
          body: push as never,
          headers: length === undefined ? [] : ['content-length', String(length)],
        };
      };
      for (const length of [undefined, 3 * N + 1000 + 6]) {
        raw.received.length = 0;
        const owned = Buffer.alloc(N, 'o'); // a whole ArrayBuffer of its own
        const small = Buffer.alloc(1000, 'm'); // whole and owned, but small
        const got = await send(
          pool,
          body(
            [
              [owned, true],
              [borrowed, false],
              [slice, true],
              [small, true],
              [pooled, true],
            ],
            length,
          ),
        );
        expect(got.status).toBe(200);
        expect(owned.byteLength).toBe(0); // released
        expect(small.toString()).toBe('m'.repeat(1000));
        expect(raw.received.join('')).toContain('o'.repeat(N));
      }
      expect(borrowed.toString()).toBe('b'.repeat(N));
      expect(whole.toString()).toBe('s'.repeat(2 * N));
      expect(pooled.toString()).toBe('pooled');
      expect(neighbour.toString()).toBe('neighbour');
    });

    it('does not free a chunk cut at the declared length', async () => {
      const raw = await rawServer((socket) => socket.write(ok()));
      const tooLong = Buffer.alloc(32 * 1024, 'x');
      const push: PushBody = {
        [PUSH_BODY]: true,
        start(sink) {
          sink.chunk(tooLong, true);
          sink.end();
        },
        resume() {},
      };
      await send(makePool(raw.url), {
        method: 'POST',
        body: push as never,
        headers: ['content-length', '4'],
      });
      expect(tooLong.toString()).toBe('x'.repeat(32 * 1024));
      expect(raw.received[0]).toMatch(/\r\n\r\nxxxx$/);
    });

    it('reads large and small answers in turn on one connection, each whole', async () => {
      const sizes = [100, 70_000, 70_000, 5, 200_000, 1, 16 * 1024, 16 * 1024 - 1, 3];
      let answered = 0;
      const raw = await rawServer((socket) => {
        socket.write(ok('y'.repeat(sizes[answered++]!)));
      });
      const pool = makePool(raw.url);
      // Whether each answer's first body piece was a buffer of its own (the parser's copy) or
      // a slice of a socket read (read as 'data', the head before it in the same read).
      const firstWhole: boolean[] = [];
      for (const size of sizes) {
        let first: boolean | undefined;
        const got = await new Promise<{ body: string; error?: Error }>((resolve) => {
          let body = '';
          pool.dispatch(
            { method: 'GET', path: '/', headers: [], body: null } as never,
            {
              onResponseData(_c: unknown, chunk: Buffer) {
                first ??= chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
                body += chunk.toString('latin1');
              },
              onResponseEnd: () => resolve({ body }),
              onResponseError: (_c: unknown, error: Error) => resolve({ body, error }),
            } as never,
          );
        });
        expect(got.error).toBeUndefined();
        expect(got.body).toBe('y'.repeat(size));
        firstWhole.push(first!);
      }
      expect(raw.sockets).toHaveLength(1);
      if (mode === 'adaptive') {
        // Read by the parser from the handle after a small answer (and at first), as 'data'
        // after one that declared 16 KiB or more.
        expect(firstWhole).toEqual([true, true, false, false, true, false, true, false, true]);
      } else {
        expect(firstWhole.every((whole) => whole === (mode === 'consume'))).toBe(true);
      }
    });

    it('hands a body piece over as owned when nothing else holds its buffer', async () => {
      const answers = [
        ok('hello'), // head and body in one read
        `${ok('hello')}EXTRA`, // bytes after the body (the connection is then not reused)
        'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      ];
      const raw = await rawServer((socket, _head, index) => socket.write(answers[index]!));
      const pool = makePool(raw.url, { keepAliveTimeoutMs: 0 });
      const seen: [string, boolean, boolean][] = [];
      for (let i = 0; i < answers.length; i++) {
        await new Promise<void>((resolve) => {
          pool.dispatch(
            { method: 'GET', path: '/', headers: ['connection', 'close'], body: null } as never,
            {
              onResponseData(_c: unknown, chunk: Buffer, owned: boolean) {
                const whole =
                  chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
                seen.push([chunk.toString(), owned, whole]);
              },
              onResponseEnd: () => resolve(),
              onResponseError: () => resolve(),
            } as never,
          );
        });
      }
      if (mode === 'data') {
        // Slices of the read: the last view of a read is owned, a piece with bytes after it is
        // not; a chunked body's pieces are the parser's copies.
        expect(seen.map(([text, owned]) => [text, owned])).toEqual([
          ['hello', true],
          ['hello', false],
          ['hello', true],
        ]);
        expect(seen[1]![2]).toBe(false);
        expect(seen[2]![2]).toBe(true);
      } else {
        expect(seen).toEqual([
          ['hello', true, true],
          ['hello', true, true],
          ['hello', true, true],
        ]);
      }
    });

    it('pauses a pushed body while the upstream does not read, and sends all of it once it does', async () => {
      // An upstream that reads nothing until told to: the kernel's buffers fill, then ours.
      let upstream: net.Socket | undefined;
      let received = 0;
      const server = net.createServer((socket) => {
        upstream = socket;
        socket.pause();
        let tail = '';
        socket.on('data', (chunk) => {
          received += chunk.length;
          tail = (tail + chunk.toString('latin1')).slice(-5);
          if (tail === '0\r\n\r\n') socket.end(ok());
        });
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      onTestFinished(() => {
        upstream?.destroy();
        server.close();
      });
      const { port } = server.address() as net.AddressInfo;
      const pool = makePool(new URL(`http://127.0.0.1:${port}`));

      const piece = Buffer.alloc(64 * 1024, 'u');
      const TOTAL = 1024; // pieces: 64 MiB, far past what loopback buffers hold
      let sent = 0;
      let refusals = 0;
      let sinkOf: BodySink | undefined;
      const body: PushBody = {
        [PUSH_BODY]: true,
        start(sink) {
          sinkOf = sink;
          this.resume();
        },
        resume() {
          const sink = sinkOf!;
          while (sent < TOTAL) {
            sent++;
            if (!sink.chunk(piece, false)) {
              refusals++;
              return;
            }
          }
          sink.end();
        },
      };
      const answered = send(pool, { method: 'POST', body: body as never });
      // The kernel's buffers take a few MiB, then the writer says "wait" for good.
      let stalledAt = -1;
      for (let polls = 0; polls < 100 && stalledAt !== sent; polls++) {
        stalledAt = sent;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(refusals).toBeGreaterThan(0);
      expect(sent).toBe(stalledAt);
      expect(stalledAt).toBeLessThan(TOTAL);
      upstream!.resume();
      const got = await answered;
      expect(got.status).toBe(200);
      expect(sent).toBe(TOTAL);
      // Every byte with its framing: the head, TOTAL chunks of 10000 hex, the last chunk.
      const head =
        received - TOTAL * (piece.length + '\r\n10000\r\n'.length) - '\r\n0\r\n\r\n'.length;
      expect(head).toBeGreaterThan(0);
      expect(head).toBeLessThan(200);
    });

    it('refuses a buffered body whose length is not the declared one, and keeps the connection', async () => {
      const raw = await rawServer((socket) => socket.write(ok()));
      const pool = makePool(raw.url);
      const got = await send(pool, {
        method: 'POST',
        headers: ['content-length', '3'],
        body: Buffer.from('four'),
      });
      expect(got.error?.code).toBe('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
      // Nothing was written: the same connection carries the next request.
      expect((await send(pool)).body).toBe('ok');
      expect(raw.sockets).toHaveLength(1);
      expect(raw.received[0]).toMatch(/^GET \/ HTTP\/1\.1\r\n/);
    });

    it('ends the request with what a handler throws, and drops that connection', async () => {
      const raw = await rawServer((socket) => socket.write(ok()));
      const pool = makePool(raw.url);
      const got = await send(pool, {}, { throwOnData: true });
      expect(got.error?.message).toBe('the handler failed');
      expect((await send(pool)).body).toBe('ok');
      expect(raw.sockets).toHaveLength(2);
    });

    it.each(['onResponseStart', 'onResponseData'])(
      'ends the request when %s throws, drops that connection, and the process carries on',
      async (where) => {
        const raw = await rawServer((socket) => socket.write(ok('hello')));
        const pool = makePool(raw.url);
        const failed = await new Promise<Error>((resolve) => {
          pool.dispatch(
            { method: 'GET', path: '/', headers: [], body: null } as never,
            {
              [where]: () => {
                throw new Error(`${where} failed`);
              },
              onResponseError: (_c: unknown, error: Error) => resolve(error),
            } as never,
          );
        });
        expect(failed.message).toBe(`${where} failed`);
        expect((await send(pool)).body).toBe('hello');
        expect(raw.sockets).toHaveLength(2);
      },
    );

    it('drops the connection when onResponseEnd throws (the response was whole), and carries on', async () => {
      const raw = await rawServer((socket) => socket.write(ok('hello')));
      const pool = makePool(raw.url);
      let errors = 0;
      await new Promise<void>((resolve) => {
        pool.dispatch(
          { method: 'GET', path: '/', headers: [], body: null } as never,
          {
            onResponseEnd: () => {
              setImmediate(resolve);
              throw new Error('onResponseEnd failed');
            },
            onResponseError: () => errors++,
          } as never,
        );
      });
      expect(errors).toBe(0);
      expect((await send(pool)).body).toBe('hello');
      expect(raw.sockets).toHaveLength(2);
    });

    it('stops reading while the handler is paused, and reads the rest once resumed', async () => {
      const big = 'x'.repeat(8 << 20);
      const raw = await rawServer((socket) => socket.write(ok(big)));
      const pool = makePool(raw.url);
      let received = 0;
      let atPause = -1;
      let whilePaused = -1;
      const got = await send(
        pool,
        {},
        {
          onData: (c) => {
            if (atPause === -1) {
              c.pause();
              atPause = received;
              setTimeout(() => {
                whilePaused = received - atPause;
                c.resume();
              }, 100);
            }
          },
          onBytes: (n) => {
            received += n;
          },
        },
      );
      expect(got.body.length).toBe(big.length);
      // At most the rest of the read the pause came in: the parser finishes the buffer it has.
      expect(whilePaused).toBeGreaterThanOrEqual(0);
      expect(whilePaused).toBeLessThanOrEqual(64 * 1024);
    });

    it('close() lets a request in flight finish; destroy() fails it', async () => {
      const raw = await rawServer((socket) => setTimeout(() => socket.write(ok()), 50));
      // In flight: its head reached the server (a request still waiting for its connection
      // is not in flight, and close() fails it).
      const sent = async (count: number) => {
        for (let i = 0; i < 200 && raw.received.filter((r) => r !== '').length < count; i++) {
          await new Promise((r) => setTimeout(r, 5));
        }
      };
      const pool = makePool(raw.url);
      const inFlight = send(pool);
      await sent(1);
      const closing = pool.close();
      expect((await send(pool)).error?.code).toBe('UND_ERR_DESTROYED');
      expect((await inFlight).body).toBe('ok');
      await closing;

      const other = makePool(raw.url);
      const cut = send(other);
      await sent(2);
      await other.destroy();
      expect((await cut).error?.code).toBe('UND_ERR_DESTROYED');
    });
  },
);
