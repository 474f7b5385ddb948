/**
 * A small stub resolver over `node:dgram` and `node:net`: one question to a list of
 * servers, the answer checked against spoofing (random 16-bit id, the server's address
 * and port, the question echoed) and retried over TCP when truncated. Node's own
 * `resolveSrv` hides TTLs; this client keeps them.
 * @internal
 */
import { randomInt } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIP, SocketAddress, type Socket as TcpSocket } from 'node:net';
import { DiscoveryError } from '../errors.js';
import { quote } from '../validate.js';
import {
  DnsFormatError,
  type DnsRecordType,
  type DnsResponse,
  decodeResponse,
  encodeQuery,
  nameLabels,
  RCODE,
  TYPE_CODES,
} from './dns-wire.js';

/** A DNS server's address. */
export interface DnsServer {
  readonly address: string;
  readonly port: number;
}

/** Largest DNS message over TCP (the 2-byte length prefix). */
const MAX_TCP_MESSAGE = 65_535;

/**
 * Parses `127.0.0.1`, `127.0.0.1:5353`, `::1` or `[::1]:5353`: an IP literal, with a port
 * (default 53).
 * @throws TypeError naming `what` for anything else (a host name would need a resolver).
 */
export function parseServer(text: unknown, what: string): DnsServer {
  if (typeof text !== 'string' || text.length === 0) {
    throw new TypeError(`${what} must be an IP address with an optional port, got ${quote(text)}`);
  }
  let address = text;
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const v4 = /^([\d.]+):(\d+)$/.exec(text);
  if (bracket) {
    address = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (v4) {
    address = v4[1]!;
    port = Number(v4[2]);
  }
  const family = isIP(address);
  if (family === 0 || (bracket && family !== 6)) {
    throw new TypeError(
      `${what} must be an IP address with an optional port ("127.0.0.1:5353", "[::1]:5353"), got ${quote(text)}`,
    );
  }
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new RangeError(`${what} port must be an integer from 1 to 65535, got ${quote(text)}`);
  }
  // The canonical form, as answers report their source: `0:0:0:0:0:0:0:1` is `::1`.
  if (family === 6 && !address.includes('%')) {
    address = new SocketAddress({ address, family: 'ipv6' }).address;
  }
  return { address, port };
}

/** The outcome of one question: the response, or the failure as a coded error. */
export type QueryResult =
  | { ok: true; response: DnsResponse }
  | { ok: false; error: DiscoveryError };

function failure(error: DiscoveryError): QueryResult {
  return { ok: false, error };
}

function matches(response: DnsResponse, id: number, name: string, type: number): boolean {
  return (
    response.response &&
    response.id === id &&
    response.question !== undefined &&
    response.question.name === name &&
    response.question.type === type
  );
}

/** How an exchange ends: with the answer, or with an error. */
type Finish = (outcome: { response: DnsResponse } | { error: unknown }) => void;

/**
 * One exchange on one socket: `start` wires the socket and calls `finish` when done.
 * `finish` settles once, after `release` (which closes the socket); an abort of `signal`
 * finishes it with the abort's reason, and an error on the socket with that error.
 */
function exchange(
  signal: AbortSignal,
  socket: { on(event: 'error', listener: (error: Error) => void): unknown },
  release: () => void,
  start: (finish: Finish) => void,
): Promise<DnsResponse> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish: Finish = (outcome) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      socket.on('error', () => {}); // late errors of a socket being closed
      release();
      if ('response' in outcome) resolve(outcome.response);
      else reject(outcome.error);
    };
    const onAbort = () => finish({ error: signal.reason });
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error) => finish({ error }));
    start(finish);
  });
}

/** Asks one server over UDP; resolves with the first answer that passes `check`. */
function askUdp(
  server: DnsServer,
  query: Uint8Array,
  check: (response: DnsResponse) => boolean,
  signal: AbortSignal,
): Promise<DnsResponse> {
  const socket: UdpSocket = createSocket(isIP(server.address) === 6 ? 'udp6' : 'udp4');
  // A lookup alone does not keep the process alive, like the refresh timer.
  socket.unref();
  const release = () => {
    socket.removeAllListeners('message');
    try {
      socket.close();
    } catch {
      // already closed
    }
  };
  return exchange(signal, socket, release, (finish) => {
    socket.on('message', (message, remote) => {
      // Anti-spoofing: only the server we asked, only our id and question; others are noise.
      if (remote.address !== server.address || remote.port !== server.port) return;
      let response: DnsResponse;
      try {
        response = decodeResponse(message);
      } catch (error) {
        if (message.length >= 2 && message.readUInt16BE(0) !== query[0]! * 256 + query[1]!) return;
        return finish({ error });
      }
      if (check(response)) finish({ response });
    });
    socket.send(query, server.port, server.address, (error) => {
      if (error) finish({ error });
    });
  });
}

/** Asks one server over TCP (after a truncated UDP answer). */
function askTcp(
  server: DnsServer,
  query: Uint8Array,
  check: (response: DnsResponse) => boolean,
  signal: AbortSignal,
): Promise<DnsResponse> {
  const socket: TcpSocket = connect({ host: server.address, port: server.port });
  socket.unref();
  const release = () => {
    socket.removeAllListeners('data');
    socket.destroy();
  };
  return exchange(signal, socket, release, (finish) => {
    let buffered = Buffer.alloc(0);
    socket.on('end', () =>
      finish({ error: new DnsFormatError('the server closed the TCP connection early') }),
    );
    socket.on('connect', () => {
      const framed = Buffer.alloc(query.length + 2);
      framed.writeUInt16BE(query.length, 0);
      framed.set(query, 2);
      socket.write(framed);
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length > MAX_TCP_MESSAGE + 2) {
        return finish({ error: new DnsFormatError('TCP answer longer than its length prefix') });
      }
      if (buffered.length < 2) return;
      const size = buffered.readUInt16BE(0);
      if (buffered.length < size + 2) return;
      try {
        const response = decodeResponse(buffered.subarray(2, size + 2));
        if (!check(response)) throw new DnsFormatError('TCP answer to another question');
        finish({ response });
      } catch (error) {
        finish({ error });
      }
    });
  });
}

/** The coded error for an answer's RCODE, or undefined for NOERROR. */
function rcodeError(rcode: number, name: string, type: DnsRecordType, server: string) {
  if (rcode === RCODE.NOERROR) return undefined;
  const at = `${type} ${name} from ${server}`;
  if (rcode === RCODE.NXDOMAIN) {
    return new DiscoveryError('nxdomain', `no such name: ${at} (NXDOMAIN)`, { rcode, name });
  }
  if (rcode === RCODE.SERVFAIL) {
    return new DiscoveryError('servfail', `server failure: ${at} (SERVFAIL)`, { rcode, name });
  }
  if (rcode === RCODE.REFUSED) {
    return new DiscoveryError('refused', `query refused: ${at} (REFUSED)`, { rcode, name });
  }
  return new DiscoveryError('rcode', `error answer ${rcode}: ${at}`, { rcode, name });
}

/**
 * Asks `servers` in order for `name`/`type`, each with an equal share of `timeoutMs`: the
 * next server is tried after a timeout, a network error, a malformed answer, SERVFAIL or
 * REFUSED. An answer (records, NXDOMAIN or an empty one) from any server ends it.
 */
export async function query(
  servers: readonly DnsServer[],
  name: string,
  type: DnsRecordType,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<QueryResult> {
  const qname = nameLabels(name).join('.');
  const code = TYPE_CODES[type];
  const share = timeoutMs / servers.length;
  let last: DiscoveryError | undefined;
  for (const server of servers) {
    if (signal.aborted) break;
    const where = server.address.includes(':')
      ? `[${server.address}]:${server.port}`
      : `${server.address}:${server.port}`;
    const attempt = AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, share))]);
    try {
      let response: DnsResponse | undefined;
      // With EDNS(0) first; again without it if the server does not understand it.
      for (const edns of [true, false]) {
        const id = randomInt(0, 65_536);
        const packet = encodeQuery(id, qname, type, edns);
        const check = (answer: DnsResponse) => matches(answer, id, qname, code);
        response = await askUdp(server, packet, check, attempt);
        if (response.truncated) response = await askTcp(server, packet, check, attempt);
        if (response.rcode !== RCODE.FORMERR) break;
      }
      if (response === undefined) throw new DnsFormatError('no answer');
      const error = rcodeError(response.rcode, qname, type, where);
      if (error === undefined || error.reason === 'nxdomain') return { ok: true, response };
      last = error;
    } catch (error) {
      if (signal.aborted) break;
      if (attempt.aborted) {
        last = new DiscoveryError(
          'timeout',
          `no answer to ${type} ${qname} from ${where} within ${Math.round(share)} ms`,
          { name: qname, cause: error },
        );
      } else if (error instanceof DnsFormatError) {
        last = new DiscoveryError(
          'malformed',
          `malformed answer to ${type} ${qname} from ${where}: ${error.message}`,
          { name: qname, cause: error },
        );
      } else {
        const reason =
          (error as { code?: unknown }).code === 'ECONNREFUSED' ? 'refused' : 'network';
        last = new DiscoveryError(
          reason,
          `${type} ${qname} to ${where} failed: ${(error as Error).message}`,
          { name: qname, cause: error },
        );
      }
    }
  }
  if (signal.aborted) {
    return failure(
      new DiscoveryError('aborted', `lookup of ${type} ${qname} cancelled`, { name: qname }),
    );
  }
  return failure(last!);
}
