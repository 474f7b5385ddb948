// A test CA and certificates made with the openssl command line (Node cannot sign
// certificates), and TLS / HTTP/2 backends on 127.0.0.1 that use them.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

export interface TestPki {
  /** The CA certificate, PEM. */
  readonly ca: Buffer;
  /** A server certificate for 127.0.0.1 and localhost, and its key. */
  readonly server: { readonly cert: Buffer; readonly key: Buffer };
  /** A server certificate for `backend.test` only (no IP address), and its key. */
  readonly named: { readonly cert: Buffer; readonly key: Buffer };
  /** A client certificate (CN=proxy) for mutual TLS, and its key. */
  readonly client: { readonly cert: Buffer; readonly key: Buffer };
}

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Makes a throwaway CA and three certificates it signed. Fails when openssl is missing. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-pki-'));
  try {
    openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=switchyard test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    const issue = (name: string, subject: string, ext: string): void => {
      writeFileSync(join(dir, `${name}.ext`), ext);
      openssl(dir, [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        subject,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
      ]);
      openssl(dir, [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.pem`,
      ]);
    };
    issue(
      'server',
      '/CN=127.0.0.1',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
    );
    issue(
      'named',
      '/CN=backend.test',
      'subjectAltName=DNS:backend.test\nextendedKeyUsage=serverAuth\n',
    );
    issue('client', '/CN=proxy', 'extendedKeyUsage=clientAuth\n');
    const read = (file: string) => readFileSync(join(dir, file));
    return {
      ca: read('ca.pem'),
      server: { cert: read('server.pem'), key: read('server.key') },
      named: { cert: read('named.pem'), key: read('named.key') },
      client: { cert: read('client.pem'), key: read('client.key') },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What a TLS backend saw of a request. */
export interface TlsSeen {
  readonly url: string;
  readonly httpVersion: string;
  readonly headers: Record<string, unknown>;
  /** The CN of the client certificate, if one was presented. */
  readonly clientCn: string | undefined;
}

/** An HTTPS (HTTP/1.1) backend answering 200 `tls ok`. */
export async function startHttpsBackend(
  options: https.ServerOptions,
): Promise<{ url: string; port: number; seen: TlsSeen[] }> {
  const seen: TlsSeen[] = [];
  const server = https.createServer(options, (req, res) => {
    const socket = req.socket as import('node:tls').TLSSocket;
    const peer = socket.getPeerCertificate?.();
    seen.push({
      url: req.url ?? '',
      httpVersion: req.httpVersion,
      headers: req.headers,
      clientCn: peer && 'subject' in peer ? String(peer.subject?.CN) : undefined,
    });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('tls ok');
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `https://127.0.0.1:${port}`, port, seen };
}

/** An HTTP/2-only secure backend (no HTTP/1.1 fallback) answering 200 `h2 ok`. */
export async function startH2Backend(
  options: http2.SecureServerOptions,
  handler?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
): Promise<{ url: string; port: number; seen: TlsSeen[] }> {
  const seen: TlsSeen[] = [];
  const server = http2.createSecureServer({ ...options, allowHTTP1: false });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    seen.push({
      url: String(headers[':path']),
      httpVersion: '2.0',
      headers,
      clientCn: undefined,
    });
    if (handler) {
      handler(stream, headers);
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end('h2 ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  );
  return { url: `https://127.0.0.1:${port}`, port, seen };
}
