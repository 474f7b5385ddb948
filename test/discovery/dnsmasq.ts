import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { existsSync } from 'node:fs';

/** Debian's dnsmasq: .ci/run installs it (package dnsmasq-base). Tests fail without it. */
export const DNSMASQ = ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq'].find((p) => existsSync(p));

/** A port free for UDP right now on 127.0.0.1 (dnsmasq binds TCP on it too). */
async function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** A dnsmasq answering for `svc.test` on 127.0.0.1:port, from command-line records. */
export class Dnsmasq {
  readonly port: number;
  #child: ChildProcess | undefined;
  #log = '';

  private constructor(port: number) {
    this.port = port;
  }

  /** Starts one with `records` (dnsmasq options such as `--srv-host=…`). */
  static async start(records: readonly string[]): Promise<Dnsmasq> {
    if (DNSMASQ === undefined) throw new Error('dnsmasq not found: install dnsmasq-base');
    const server = new Dnsmasq(await freePort());
    await server.restart(records);
    return server;
  }

  /** `127.0.0.1:port`, for `servers`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  get log(): string {
    return this.#log;
  }

  /** Stops it (if running) and starts it again on the same port with new records. */
  async restart(records: readonly string[]): Promise<void> {
    await this.stop();
    const args = [
      '--no-resolv',
      '--no-hosts',
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      `--port=${this.port}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      // Authoritative for the test zone: unknown names are NXDOMAIN, not REFUSED.
      '--local=/svc.test/',
      '--log-facility=-',
      ...(process.getuid?.() === 0 ? ['--user=root'] : []),
      ...records,
    ];
    const child = spawn(DNSMASQ!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (this.#log += d));
    child.stderr!.on('data', (d) => (this.#log += d));
    this.#child = child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`dnsmasq exited with ${code}: ${this.#log}`))),
    );
    // Ready once it answers anything (here REFUSED or NXDOMAIN) on the port.
    const resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([this.address]);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const answered = await Promise.race([
        resolver.resolve4('ready.svc.test').then(
          () => true,
          (error: NodeJS.ErrnoException) =>
            error.code !== 'ETIMEOUT' && error.code !== 'ECONNREFUSED',
        ),
        exited,
      ]);
      if (answered) break;
      if (Date.now() > deadline) throw new Error(`dnsmasq did not answer: ${this.#log}`);
    }
    exited.catch(() => {});
  }

  /** Stops it and waits for the process to exit. Idempotent. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}
