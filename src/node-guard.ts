/**
 * Imported first by the Node entries: on a Node.js older than {@link MIN_NODE_VERSION}
 * the import fails at once with one clear line, before undici is loaded (undici 8 fails
 * on Node 22.12 with an error from its own internals). The entries re-export
 * `MIN_NODE_VERSION` from here, which also keeps this module in every build.
 * @internal
 */

import { MIN_NODE_VERSION, nodeVersionProblem } from './node-version.js';

const problem = nodeVersionProblem(process.versions.node);
if (problem !== undefined) throw new Error(problem);

export { MIN_NODE_VERSION };
