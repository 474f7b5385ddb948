import { HealthCheckError } from '../errors.js';
import type { PoolEndpoint } from '../pool/types.js';
import { quote } from '../validate.js';

// The slice of the Fetch API used here, so the core needs neither DOM nor node types.
interface FetchResponse {
  readonly status: number;
  readonly type: string;
  readonly body: { cancel(): Promise<void> } | null;
}
type Fetch = (
  url: string,
  init: { method: string; redirect: 'manual'; signal: AbortSignal },
) => Promise<FetchResponse>;

/**
 * The default check: GET the endpoint URL's origin + `/` with the global `fetch`, not
 * following redirects. A 2xx or 3xx status passes, as HAProxy's `option httpchk`; the body
 * is cancelled unread so no buffer is kept.
 * @internal
 */
export async function fetchCheck(endpoint: PoolEndpoint, signal: AbortSignal): Promise<void> {
  const url = endpoint.parsedUrl;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(
      `the default health check needs an http: or https: endpoint, got ${quote(endpoint.url)}; pass a check such as tcpCheck()`,
    );
  }
  const fetch = (globalThis as { fetch?: Fetch }).fetch;
  if (typeof fetch !== 'function') {
    throw new TypeError('the default health check needs a global fetch; pass a check instead');
  }
  const response = await fetch(`${url.origin}/`, { method: 'GET', redirect: 'manual', signal });
  try {
    await response.body?.cancel();
  } catch {
    // Nothing to release: the body failed on its own.
  }
  // Browsers hide a manual redirect's status behind an `opaqueredirect` response.
  const ok =
    (response.status >= 200 && response.status < 400) || response.type === 'opaqueredirect';
  if (!ok) {
    throw new HealthCheckError(
      `health check GET ${url.origin}/ answered ${response.status}, expected 2xx or 3xx`,
      { status: response.status },
    );
  }
}
