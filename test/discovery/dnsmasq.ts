import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

/** Debian's dnsmasq: .ci/run installs it (package dnsmasq-base). Tests fail without it. */
export const DNSMASQ = ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq'].find((p) => existsSync(p));

/**
 * A random high port below Linux's ephemeral range (32768–60999), free right now on
 * 127.0.0.1 for both TCP and UDP (dnsmasq binds both). Below the ephemeral range, so the
 * `listen(0)` of tests running in parallel cannot take it while dnsmasq restarts.
 */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await canBind(port, 'tcp')) && (await canBind(port, 'udp'))) return port;
  }
}

/** Binds `port` on 127.0.0.1 and lets it go again; false when it is taken. */
function canBind(port: number, protocol: 'tcp' | 'udp'): Promise<boolean> {
  return new Promise((resolve) => {
    if (protocol === 'tcp') {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    } else {
      const socket = createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
    }
  });
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
    // Another test may take the port between the probe and dnsmasq's bind: try again.
    for (let attempt = 1; ; attempt++) {
      const server = new Dnsmasq(await freePort());
      try {
        await server.restart(records);
        return server;
      } catch (error) {
        if (attempt >= 5 || !/in use/.test(String(error))) throw error;
      }
    }
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
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#launch(records);
      } catch (error) {
        // The port is ours, but a socket of the old process may linger a moment.
        if (attempt >= 20 || !/in use/.test(String(error))) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  async #launch(records: readonly string[]): Promise<void> {
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
      child.once('exit', (code) => {
        if (this.#child === child) this.#child = undefined;
        reject(new Error(`dnsmasq exited with ${code}: ${this.#log}`));
      }),
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
