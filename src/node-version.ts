/**
 * The oldest Node.js the Node entries (`switchyard/http`, `/tcp`, `/fastify`, the CLI) run
 * on, and the one-line refusal on an older one. Not part of the runtime-neutral core.
 * @internal
 */

/**
 * The oldest Node.js this package runs on: undici 8 needs 22.19 (on 22.12 it fails inside
 * undici on import). Importing a Node entry on an older one throws, naming both versions.
 */
export const MIN_NODE_VERSION = '22.19.0';

/**
 * Why `version` (as `process.versions.node`: `22.12.0`) is too old, in one line, or
 * `undefined` when it is recent enough.
 */
export function nodeVersionProblem(version: string): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const [minMajor = 0, minMinor = 0] = MIN_NODE_VERSION.split('.').map(Number);
  if (major > minMajor || (major === minMajor && minor >= minMinor)) return undefined;
  return `switchyard needs Node.js >= ${MIN_NODE_VERSION} (undici 8 does); this is Node.js v${version}`;
}
