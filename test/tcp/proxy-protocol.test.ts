import net, { type Server } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Pool } from '../../src/pool/pool.js';
import { createTcpProxy, type ProxyProtocolVersion } from '../../src/tcp/index.js';
import { proxyV1, proxyV2 } from '../../src/tcp/proxy-protocol.js';
import { failOnProcessProblems } from '../http/proxy-support.js';
import { eventually, listenOn, receive, tcpBackend } from './support.js';

failOnProcessProblems();

/** What a PROXY header says, as a receiver reads it. */
interface Parsed {
  readonly version: 1 | 2;
  /** v2: `PROXY` or `LOCAL`; v1: `PROXY`. */
  readonly command: 'PROXY' | 'LOCAL';
  /** `TCP4`, `TCP6` or `UNKNOWN` (v1); the same names for v2's 0x11, 0x21 and 0x00. */
  readonly protocol: 'TCP4' | 'TCP6' | 'UNKNOWN';
  readonly source?: string;
  readonly destination?: string;
  readonly sourcePort?: number;
  readonly destinationPort?: number;
  /** Bytes after the header. */
  readonly rest: Buffer;
}

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** Canonical text of an IPv6 address (compressed, lower case), through the URL parser. */
function canonicalIPv6(text: string): string {
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

/**
 * A receiver's parser, written from HAProxy's proxy-protocol.txt and nothing else: §2.1
 * (human-readable header) and §2.2 (binary header). Throws on anything the text does not
 * allow.
 */
function parseProxyHeader(buffer: Buffer): Parsed {
  if (buffer.subarray(0, 12).equals(SIGNATURE)) {
    const verCmd = buffer[12]!;
    if (verCmd >> 4 !== 2) throw new Error(`bad version ${verCmd >> 4}`);
    const command = verCmd & 0x0f;
    if (command !== 0 && command !== 1) throw new Error(`bad command ${command}`);
    const famProto = buffer[13]!;
    const length = buffer.readUInt16BE(14);
    const block = buffer.subarray(16, 16 + length);
    if (block.length !== length) throw new Error('short address block');
    const rest = buffer.subarray(16 + length);
    if (command === 0) return { version: 2, command: 'LOCAL', protocol: 'UNKNOWN', rest };
    if (famProto === 0x11) {
      if (length < 12) throw new Error(`IPv4 block of ${length} bytes`);
      return {
        version: 2,
        command: 'PROXY',
        protocol: 'TCP4',
        source: [...block.subarray(0, 4)].join('.'),
        destination: [...block.subarray(4, 8)].join('.'),
        sourcePort: block.readUInt16BE(8),
        destinationPort: block.readUInt16BE(10),
        rest,
      };
    }
    if (famProto === 0x21) {
      if (length < 36) throw new Error(`IPv6 block of ${length} bytes`);
      const ip = (offset: number) => {
        const groups: string[] = [];
        for (let i = 0; i < 8; i++) groups.push(block.readUInt16BE(offset + i * 2).toString(16));
        return canonicalIPv6(groups.join(':'));
      };
      return {
        version: 2,
        command: 'PROXY',
        protocol: 'TCP6',
        source: ip(0),
        destination: ip(16),
        sourcePort: block.readUInt16BE(32),
        destinationPort: block.readUInt16BE(34),
        rest,
      };
    }
    if (famProto === 0x00) return { version: 2, command: 'PROXY', protocol: 'UNKNOWN', rest };
    throw new Error(`bad family/protocol 0x${famProto.toString(16)}`);
  }
  const end = buffer.indexOf('\r\n');
  if (end < 0 || end + 2 > 107) throw new Error('no CRLF within 107 bytes');
  const line = buffer.subarray(0, end).toString('latin1');
  const rest = buffer.subarray(end + 2);
  const fields = line.split(' ');
  if (fields[0] !== 'PROXY') throw new Error(`not a PROXY line: ${JSON.stringify(line)}`);
  if (fields[1] === 'UNKNOWN') return { version: 1, command: 'PROXY', protocol: 'UNKNOWN', rest };
  if (fields.length !== 6) throw new Error(`expected 6 fields: ${JSON.stringify(line)}`);
  const [, protocol, source, destination, sourcePort, destinationPort] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const port = (text: string) => {
    if (!/^(0|[1-9][0-9]{0,4})$/.test(text) || Number(text) > 65_535) {
      throw new Error(`bad port ${text}`);
    }
    return Number(text);
  };
  if (protocol === 'TCP4') {
    if (!net.isIPv4(source) || !net.isIPv4(destination)) throw new Error(`bad IPv4: ${line}`);
  } else if (protocol === 'TCP6') {
    if (!net.isIPv6(source) || !net.isIPv6(destination)) throw new Error(`bad IPv6: ${line}`);
  } else {
    throw new Error(`bad protocol ${protocol}`);
  }
  return {
    version: 1,
    command: 'PROXY',
    protocol,
    source: protocol === 'TCP6' ? canonicalIPv6(source) : source,
    destination: protocol === 'TCP6' ? canonicalIPv6(destination) : destination,
    sourcePort: port(sourcePort),
    destinationPort: port(destinationPort),
    rest,
  };
}

/**
 * A proxy listening on `listenHost` with `proxyProtocol`, in front of a backend that
 * collects everything it receives; one client connects to `connectHost`, sends `payload`
 * and ends. Resolves with what the backend read, parsed, and the client's socket.
 */
async function throughProxy(
  version: ProxyProtocolVersion,
  listenHost: string,
  connectHost: string,
): Promise<{ parsed: Parsed; clientPort: number; proxyPort: number }> {
  let received: Promise<Buffer> | undefined;
  const backend = await tcpBackend(
    (socket) => {
      received = receive(socket).then((r) => r.data);
      socket.on('end', () => socket.end());
    },
    { allowHalfOpen: true },
  );
  const pool = new Pool({ endpoints: [backend.url] });
  onTestFinished(() => pool.close());
  const server = createTcpProxy(pool, { proxyProtocol: version });
  const proxyPort = await listenOn(server as unknown as Server, listenHost);
  onTestFinished(() => server.close({ drainMs: 0 }));
  const client = net.connect(proxyPort, connectHost);
  onTestFinished(() => {
    client.destroy();
  });
  await new Promise((resolve) => client.once('connect', resolve));
  const clientPort = client.localPort!;
  const done = receive(client);
  client.end('payload after the header');
  await done;
  await eventually(() => received !== undefined);
  return { parsed: parseProxyHeader(await received!), clientPort, proxyPort };
}

describe('createTcpProxy: PROXY protocol', () => {
  for (const version of ['v1', 'v2'] as const) {
    it(`${version} over IPv4 carries the client's and the proxy's address and port`, async () => {
      const { parsed, clientPort, proxyPort } = await throughProxy(
        version,
        '127.0.0.1',
        '127.0.0.1',
      );
      expect(parsed).toEqual({
        version: version === 'v1' ? 1 : 2,
        command: 'PROXY',
        protocol: 'TCP4',
        source: '127.0.0.1',
        destination: '127.0.0.1',
        sourcePort: clientPort,
        destinationPort: proxyPort,
        rest: Buffer.from('payload after the header'),
      });
    });

    it(`${version} over IPv6 (::1)`, async () => {
      const { parsed, clientPort, proxyPort } = await throughProxy(version, '::1', '::1');
      expect(parsed).toMatchObject({
        protocol: 'TCP6',
        source: '::1',
        destination: '::1',
        sourcePort: clientPort,
        destinationPort: proxyPort,
      });
      expect(parsed.rest.toString()).toBe('payload after the header');
    });

    it(`${version} unmaps IPv4-mapped addresses of a dual-stack socket to TCP4`, async () => {
      const { parsed, clientPort } = await throughProxy(version, '::ffff:127.0.0.1', '127.0.0.1');
      expect(parsed).toMatchObject({
        protocol: 'TCP4',
        source: '127.0.0.1',
        destination: '127.0.0.1',
        sourcePort: clientPort,
      });
    });
  }

  it('writes exactly the bytes the specification shows', () => {
    const c = {
      remoteAddress: '192.0.2.10',
      remotePort: 56_324,
      localAddress: '198.51.100.1',
      localPort: 443,
    };
    expect(proxyV1(c).toString('latin1')).toBe('PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n');
    expect(proxyV2(c).toString('hex')).toBe(
      `${SIGNATURE.toString('hex')}21` + '11' + '000c' + 'c000020a' + 'c6336401' + 'dc04' + '01bb',
    );
    const six = {
      remoteAddress: '2001:db8::1:2',
      remotePort: 1,
      localAddress: 'fe80::1%eth0',
      localPort: 65_535,
    };
    expect(proxyV1(six).toString('latin1')).toBe('PROXY TCP6 2001:db8::1:2 fe80::1 1 65535\r\n');
    expect(proxyV2(six).toString('hex')).toBe(
      `${SIGNATURE.toString('hex')}21` +
        '21' +
        '0024' +
        '20010db8000000000000000000010002' +
        'fe800000000000000000000000000001' +
        '0001' +
        'ffff',
    );
    // Mixed families: the IPv4 side is written IPv4-mapped.
    const mixed = { ...six, localAddress: '127.0.0.1' };
    expect(parseProxyHeader(proxyV2(mixed))).toMatchObject({
      protocol: 'TCP6',
      destination: canonicalIPv6('::ffff:127.0.0.1'),
    });
    expect(parseProxyHeader(proxyV1(mixed))).toMatchObject({
      protocol: 'TCP6',
      destination: canonicalIPv6('::ffff:127.0.0.1'),
    });
  });

  it('says UNKNOWN (v1) and LOCAL (v2) when the addresses are not known', () => {
    const gone = {
      remoteAddress: undefined,
      remotePort: undefined,
      localAddress: '127.0.0.1',
      localPort: 80,
    };
    expect(proxyV1(gone).toString('latin1')).toBe('PROXY UNKNOWN\r\n');
    const v2 = proxyV2(gone);
    expect(v2.toString('hex')).toBe(`${SIGNATURE.toString('hex')}20000000`);
    expect(parseProxyHeader(v2)).toMatchObject({ version: 2, command: 'LOCAL' });
  });
});
