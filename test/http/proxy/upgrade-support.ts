import http, { type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { onTestFinished } from 'vitest';
import { closeServer, listen } from '../proxy-support.js';

/** A backend on 127.0.0.1 that takes HTTP upgrades. */
export interface UpgradeBackend {
  readonly url: string;
  /** The upgrade requests received, in order. */
  readonly upgrades: IncomingMessage[];
}

/** How an {@link upgradeBackend} answers. */
export interface UpgradeBackendOptions {
  /** Refuse every upgrade with this status (and the body `refused`) instead of a 101. */
  readonly refuse?: number;
  /** Extra headers of the refusal. */
  readonly refuseHeaders?: Readonly<Record<string, string>>;
}

/**
 * A backend that accepts upgrades (`101`, with `Sec-WebSocket-Accept: accept-<key>` and
 * `X-Backend: <name>`) and echoes every chunk it receives, `head` included, prefixed with
 * `<name>:`; or refuses them. Closed, with its tunnels, after the test.
 */
export async function upgradeBackend(
  name: string,
  options: UpgradeBackendOptions = {},
): Promise<UpgradeBackend> {
  const upgrades: IncomingMessage[] = [];
  const sockets = new Set<Duplex>();
  const server = http.createServer((_req, res) => res.end('plain'));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrades.push(req);
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.on('end', () => socket.end());
    if (options.refuse !== undefined) {
      let extra = '';
      for (const [key, value] of Object.entries(options.refuseHeaders ?? {})) {
        extra += `${key}: ${value}\r\n`;
      }
      socket.end(
        `HTTP/1.1 ${options.refuse} Nope\r\ncontent-length: 7\r\nx-why: ${name}\r\n${extra}\r\nrefused`,
      );
      return;
    }
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        `Sec-WebSocket-Accept: accept-${req.headers['sec-websocket-key']}\r\nX-Backend: ${name}\r\n\r\n`,
    );
    const prefix = Buffer.from(`${name}:`);
    if (head.length > 0) socket.write(Buffer.concat([prefix, head]));
    socket.on('data', (chunk: Buffer) => socket.write(Buffer.concat([prefix, chunk])));
  });
  const port = await listen(server);
  onTestFinished(() => {
    for (const socket of sockets) socket.destroy();
    return closeServer(server);
  });
  return { url: `http://127.0.0.1:${port}`, upgrades };
}

/**
 * Starts a WebSocket handshake on a fresh connection: resolves with the response, and the
 * socket after a 101 (`undefined` when the upgrade was refused).
 */
export function upgradeRequest(
  url: string,
  headers: http.OutgoingHttpHeaders = {},
): Promise<{ res: IncomingMessage; socket: Duplex | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      agent: false,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': 'k123',
        'sec-websocket-version': '13',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => resolve({ res, socket }));
    req.on('response', (res) => resolve({ res, socket: undefined }));
    req.on('error', reject);
    req.end();
  });
}

/** Writes `text` into a tunnel and resolves with the first chunk that comes back. */
export function echoOnce(socket: Duplex, text: string): Promise<string> {
  return new Promise((resolve) => {
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    socket.write(text);
  });
}

/** Reads a response body to its end, as text. */
export function readText(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
    });
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}
