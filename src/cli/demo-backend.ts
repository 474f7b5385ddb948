import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { resetSocket } from '../socket-reset.js';

/**
 * A demo backend: answers `GET /` after about `delayMs` (±25 % jitter) with its name in
 * the body and in an `x-backend` header, and `GET /healthz` at once. It can be killed
 * abruptly (port closed, open connections reset) and restored on the same port.
 * @internal
 */
export class DemoBackend {
  /** Short name shown in the demo's table. */
  readonly name: string;
  /** Typical answer delay in ms. */
  readonly delayMs: number;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #random: () => number;
  #port = 0;
  #up = false;

  constructor(name: string, delayMs: number, random: () => number = Math.random) {
    this.name = name;
    this.delayMs = delayMs;
    this.#random = random;
    this.#server = createServer((req, res) => {
      if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      }
      const delay = delayMs * (0.75 + 0.5 * this.#random());
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        res
          .writeHead(200, { 'content-type': 'text/plain', 'x-backend': name })
          .end(`hello from ${name}\n`);
      }, delay);
      this.#timers.add(timer);
    });
    this.#server.keepAliveTimeout = 10_000;
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /** `http://127.0.0.1:PORT` once listening. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** True while listening. */
  get up(): boolean {
    return this.#up;
  }

  /** Listens on 127.0.0.1: a free port the first time, the same port after a kill. */
  async start(): Promise<void> {
    if (this.#up) return;
    // The port was just released by kill(); on a busy machine binding it again can race.
    for (let attempt = 0; ; attempt++) {
      try {
        this.#server.listen(this.#port, '127.0.0.1');
        await once(this.#server, 'listening');
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    this.#port = (this.#server.address() as AddressInfo).port;
    this.#up = true;
  }

  /** Stops at once, like a crashed process: the port closes, open connections are reset. */
  kill(): void {
    if (!this.#up) return;
    this.#up = false;
    this.#server.close();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const socket of this.#sockets) resetSocket(socket);
    this.#sockets.clear();
  }

  /** Same as `kill()`: the demo's backends have nothing to drain. */
  close(): void {
    this.kill();
  }
}
