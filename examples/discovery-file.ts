/**
 * A discovery source of your own: endpoints listed in a JSON file, followed as the file
 * changes. `Membership` does the rest of the `Discovery` contract — attaching pools,
 * skipping unchanged sets, fanning out errors — so the source is its lookup and little else.
 *
 * The file holds `[{ "url": "http://10.0.0.7:8080", "weight": 2 }, "http://10.0.0.8:8080"]`.
 * An edit that does not parse is reported and the pools keep their last good set, as a DNS
 * outage would. Editors that save by renaming a new file over the old one are followed too:
 * the directory is watched, not the file.
 *
 * Run (in a clone, after `npm ci`): npm run example examples/discovery-file.ts
 */
import { watch } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { type EndpointInput, Pool } from 'switchyard';
import {
  type Discovery,
  DiscoveryError,
  type DiscoveryTarget,
  Membership,
} from 'switchyard/discovery';

/** Endpoints from a JSON file, re-read whenever it changes. */
export class FileDiscovery implements Discovery {
  readonly #path: string;
  readonly #members = new Membership();
  readonly #watcher;
  #reading = Promise.resolve();

  constructor(path: string) {
    this.#path = path;
    // Watch the directory: a save by rename replaces the file's inode.
    this.#watcher = watch(dirname(path), { persistent: false }, (_, name) => {
      if (name === null || name === basename(path)) this.#reread();
    });
    this.#reread();
  }

  attach(pool: DiscoveryTarget) {
    return this.#members.attach(pool);
  }

  onError(listener: (error: DiscoveryError) => void) {
    return this.#members.onError(listener);
  }

  async close(): Promise<void> {
    this.#watcher.close();
    this.#members.close();
    await this.#reading;
  }

  [Symbol.asyncDispose]() {
    return this.close();
  }

  /** Reads the file again, after any read in progress (so answers apply in order). */
  #reread(): void {
    this.#reading = this.#reading.then(async () => {
      if (this.#members.closed) return;
      try {
        const endpoints: unknown = JSON.parse(await readFile(this.#path, 'utf8'));
        if (!Array.isArray(endpoints)) throw new TypeError('expected an array of endpoints');
        this.#members.publish(endpoints as EndpointInput[]);
      } catch (error) {
        const message = `${this.#path}: ${(error as Error).message}`;
        this.#members.fail(new DiscoveryError('source', message, { cause: error }));
      }
    });
  }
}

/** Waits until the pool shows `count` endpoints (bounded). */
async function settle(pool: Pool, count: number): Promise<void> {
  for (let i = 0; i < 200 && pool.endpoints.length !== count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Replaces the file at once (write aside, then rename), so no reader sees half of it. */
async function save(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

const show = (pool: Pool) =>
  pool.endpoints.map((e) => `${e.url} (weight ${e.configuredWeight})`).join(', ');

const dir = await mkdtemp(join(tmpdir(), 'switchyard-file-'));
const file = join(dir, 'endpoints.json');
try {
  await save(file, JSON.stringify(['http://127.0.0.1:9001', 'http://127.0.0.1:9002']));
  const pool = new Pool({ endpoints: [] });
  let updates = 0;
  const discovery = new FileDiscovery(file);
  discovery.onError((error) => console.log(`error (${error.reason}): kept the last good set`));
  discovery.attach({
    setEndpoints(endpoints, options) {
      updates++;
      pool.setEndpoints(endpoints, options);
    },
  });
  await settle(pool, 2);
  console.log(`start: ${show(pool)}`);

  await save(
    file,
    JSON.stringify([{ url: 'http://127.0.0.1:9001', weight: 3 }, 'http://127.0.0.1:9003']),
  );
  for (let i = 0; i < 200 && pool.get('http://127.0.0.1:9003') === undefined; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  console.log(`changed: ${show(pool)}`);

  await save(file, '[{ "url": oops');
  await new Promise((resolve) => setTimeout(resolve, 200));
  console.log(`after a bad edit: ${show(pool)}`);

  // The same set again, written differently: no update.
  await save(
    file,
    JSON.stringify(['http://127.0.0.1:9003', { url: 'http://127.0.0.1:9001', weight: 3 }]),
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  console.log(`updates: ${updates}`);
  await discovery.close();
  await pool.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
