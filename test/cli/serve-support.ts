import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import {
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

/** The repository root. */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The built executable (npm test builds first). */
export const CLI = join(root, 'dist/cli.js');

/** A temporary directory, removed when the test ends. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-serve-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `content` (a string, or an object as JSON) to `dir/name` and returns its path. */
export function writeConfig(dir: string, name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

/** A free loopback port (bound, read and released). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/**
 * `count` different free loopback ports: all are held until every one is read (one port
 * released and then asked for again can come back the same).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createNetServer());
  await Promise.all(
    servers.map((server) => new Promise<void>((r) => server.listen(0, '127.0.0.1', r))),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise<void>((r) => server.close(() => r()))));
  return ports;
}

/** A backend on 127.0.0.1 that answers `name`; `/slow?ms=N` answers after N ms. */
export interface Backend {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  /** Requests served, by path. */
  hits: number;
  /** Health checks answered 503 while true. */
  failHealth: boolean;
  close(): Promise<void>;
}

/** Starts a backend; closed when the test ends. */
export async function startBackend(name: string, port = 0): Promise<Backend> {
  let server: Server;
  const backend: Backend = {
    name,
    url: '',
    port: 0,
    hits: 0,
    failHealth: false,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/healthz') {
      res.statusCode = backend.failHealth ? 503 : 200;
      res.end(backend.failHealth ? 'down' : 'ok');
      return;
    }
    backend.hits++;
    if (url.pathname === '/slow') {
      const timer = setTimeout(
        () => res.end(`${name} slow`),
        Number(url.searchParams.get('ms') ?? 1000),
      );
      res.on('close', () => clearTimeout(timer));
      return;
    }
    res.end(name);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const bound = (server.address() as AddressInfo).port;
  Object.assign(backend, { port: bound, url: `http://127.0.0.1:${bound}` });
  onTestFinished(() => backend.close());
  return backend;
}

/** A running `switchyard serve` child process and its stderr, line by line. */
export interface Served {
  readonly child: ChildProcess;
  /** Every stderr line so far. */
  readonly lines: string[];
  /** Resolves with the first line (from `from` on) matching `pattern`; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number, from?: number): Promise<string>;
  /** Resolves with the exit code; rejects after `timeoutMs`. */
  exited(timeoutMs?: number): Promise<number | null>;
}

/**
 * Runs the built CLI with `args`; killed when the test ends. `serve` without `--workers`
 * gets `--workers 1` (these tests are of one serving process, and a SIGKILL at the end
 * reaches all of it); serve-workers.test.ts covers more, and the default with
 * `{ defaultWorkers: true }`.
 */
export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  options: { defaultWorkers?: boolean } = {},
): Served {
  const pinned =
    args[0] === 'serve' && options.defaultWorkers !== true && !args.includes('--workers')
      ? [...args, '--workers', '1']
      : args;
  const child = spawn(process.execPath, [CLI, ...pinned], {
    cwd: root,
    env: { ...process.env, NODE_NO_WARNINGS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  const waiters = new Set<() => void>();
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters) w();
  });
  child.stdout!.resume();
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    lines,
    waitFor(pattern, timeoutMs = 10_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = lines.slice(from).find((l) => pattern.test(l));
          if (line !== undefined) {
            done();
            resolve(line);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `no line matching ${pattern} in ${timeoutMs} ms (exit ${child.exitCode ?? child.signalCode ?? 'not yet'}); stderr:\n${lines.join('\n')}`,
            ),
          );
        }, timeoutMs);
        const onExit = () => {
          setTimeout(check, 0);
        };
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off('exit', onExit);
        };
        waiters.add(check);
        child.on('exit', onExit);
        check();
      });
    },
    exited(timeoutMs = 15_000) {
      return Promise.race([
        exit,
        new Promise<never>((_, reject) =>
          setTimeout(
            () =>
              reject(
                new Error(`still running after ${timeoutMs} ms; stderr:\n${lines.join('\n')}`),
              ),
            timeoutMs,
          ).unref(),
        ),
      ]);
    },
  };
}

/** GET `url` on a fresh connection; resolves with status and body text. */
export function get(url: string, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
