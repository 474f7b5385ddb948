import { createSocket } from 'node:dgram';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseServer, query } from '../../src/discovery/dns-client.js';
import { isDiscoveryError } from '../../src/index.js';

/** A UDP server on 127.0.0.1 that answers every query with `answer(query)`. */
async function server(answer: (query: Buffer) => Buffer | undefined) {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  socket.on('message', (q, remote) => {
    const bytes = answer(q);
    if (bytes) socket.send(bytes, remote.port, remote.address);
  });
  onTestFinished(() => new Promise<void>((r) => socket.close(() => r())));
  return { address: '127.0.0.1', port: socket.address().port };
}

describe('the DNS client', () => {
  test.prop([fc.uint8Array({ maxLength: 300 }), fc.boolean()], { numRuns: 60 })(
    'a hostile server (its answers: our id, then anything) gets a coded failure, never a throw',
    async (tail, truncated) => {
      const s = await server((q) => {
        const head = Buffer.from([q[0]!, q[1]!, truncated ? 0x83 : 0x81, 0x80]);
        return Buffer.concat([head, Buffer.from(tail)]);
      });
      const result = await query([s], 'web.svc.test', 'SRV', 300, new AbortController().signal);
      if (!result.ok) expect(isDiscoveryError(result.error)).toBe(true);
    },
  );

  it('parses server addresses, IPv4 and IPv6, with and without a port', () => {
    expect(parseServer('127.0.0.1', 's')).toEqual({ address: '127.0.0.1', port: 53 });
    expect(parseServer('127.0.0.1:5353', 's')).toEqual({ address: '127.0.0.1', port: 5353 });
    expect(parseServer('::1', 's')).toEqual({ address: '::1', port: 53 });
    expect(parseServer('[0:0::1]:5353', 's')).toEqual({ address: '::1', port: 5353 });
    expect(() => parseServer('[127.0.0.1]:53', 's')).toThrow(TypeError);
    expect(() => parseServer('127.0.0.1:99999', 's')).toThrow(RangeError);
    expect(() => parseServer('localhost', 's')).toThrow(/IP address/);
    expect(() => parseServer(53, 's')).toThrow(/got 53/);
  });

  it('an aborted lookup ends at once with reason "aborted"', async () => {
    const s = await server(() => undefined);
    const controller = new AbortController();
    const pending = query([s], 'web.svc.test', 'A', 60_000, controller.signal);
    controller.abort();
    const result = await pending;
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.reason).toBe('aborted');
  });
});
