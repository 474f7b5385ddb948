/**
 * Checks across sections of the config, on the file as parsed (not yet validated), so they
 * report even when other parts are wrong: a listener's pool exists, no two listeners share
 * an address, a pool has endpoints or discovery, endpoint ids are unique, endpoints speak
 * the scheme of the listeners in front of them, refresh and ejection bounds are ordered.
 * @internal
 */
import type { ConfigIssue } from './issues.js';
import { formatPath } from './issues.js';
import { formatListenAddress, parseListenAddress } from './listen-address.js';
import { nearest } from './rules.js';

type Path = (string | number)[];
type Report = (path: Path, message: string, value: unknown) => void;
type Obj = Record<string, unknown>;

/** Pool names: they appear in URLs of the dashboard and in metric labels. */
const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const HTTP_SCHEMES = new Set(['http:', 'https:']);
const TCP_SCHEMES = new Set(['tcp:', 'http:', 'https:']);

const isObject = (value: unknown): value is Obj =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** Every cross-section problem of `input` (a parsed file). */
export function crossCheck(input: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const report: Report = (path, message, value) =>
    issues.push({ path: formatPath(path), message, value });
  if (!isObject(input)) return issues;
  const pools = isObject(input.pools) ? input.pools : {};
  for (const [name, pool] of Object.entries(pools)) {
    if (isObject(pool)) checkPool(name, pool, report);
  }
  checkListeners(input, pools, report);
  return issues;
}

function checkPool(name: string, pool: Obj, report: Report): void {
  const at: Path = ['pools', name];
  if (!POOL_NAME.test(name)) {
    report(
      at,
      'pool names must be letters, digits, "_", "." or "-" (at most 63), starting with a letter or digit',
      name,
    );
  }
  if ((pool.endpoints === undefined) === (pool.discovery === undefined)) {
    report(at, 'must have exactly one of "endpoints" and "discovery"', pool);
  }
  if (Array.isArray(pool.endpoints)) {
    const ids = new Map<string, number>();
    pool.endpoints.forEach((endpoint: unknown, i) => {
      const url =
        typeof endpoint === 'string' ? endpoint : isObject(endpoint) ? endpoint.url : undefined;
      if (typeof url !== 'string') return;
      const id =
        isObject(endpoint) && typeof endpoint.id === 'string'
          ? endpoint.id
          : (URL.parse(url)?.href ?? url);
      const first = ids.get(id);
      if (first !== undefined) {
        report(
          [...at, 'endpoints', i],
          `duplicate endpoint id (the same as endpoints[${first}])`,
          id,
        );
      } else ids.set(id, i);
    });
  }
  const dns =
    isObject(pool.discovery) && isObject(pool.discovery.dns) ? pool.discovery.dns : undefined;
  if (dns !== undefined) {
    if ((dns.type === 'A' || dns.type === 'AAAA') && dns.port === undefined) {
      report([...at, 'discovery', 'dns', 'port'], `is required for ${dns.type} records`, undefined);
    }
    const min = num(dns.minRefreshMs);
    const max = num(dns.maxRefreshMs);
    if (min !== undefined && max !== undefined && min > max) {
      report([...at, 'discovery', 'dns', 'minRefreshMs'], `must be <= maxRefreshMs (${max})`, min);
    }
  }
  const outlier = isObject(pool.outlierDetection) ? pool.outlierDetection : undefined;
  const maxMs = num(outlier?.maxEjectionMs);
  const baseMs = num(outlier?.baseEjectionMs) ?? 30_000;
  if (maxMs !== undefined && maxMs < baseMs) {
    report(
      [...at, 'outlierDetection', 'maxEjectionMs'],
      `must be >= baseEjectionMs (${baseMs})`,
      maxMs,
    );
  }
}

function checkListeners(input: Obj, pools: Obj, report: Report): void {
  const names = Object.keys(pools);
  const seen = new Map<string, string>();
  const claim = (listen: unknown, path: Path, owner: string) => {
    if (typeof listen !== 'string') return;
    const parsed = parseListenAddress(listen);
    if (typeof parsed === 'string') return;
    const key = formatListenAddress(parsed);
    const first = seen.get(key);
    if (first !== undefined) report(path, `is already the address of ${first}`, listen);
    else seen.set(key, owner);
  };
  if (isObject(input.dashboard))
    claim(input.dashboard.listen, ['dashboard', 'listen'], 'the dashboard');
  if (!Array.isArray(input.listeners)) return;
  input.listeners.forEach((listener: unknown, i) => {
    if (!isObject(listener)) return;
    claim(listener.listen, ['listeners', i, 'listen'], `listeners[${i}]`);
    if (typeof listener.pool !== 'string') return;
    const pool = Object.hasOwn(pools, listener.pool) ? pools[listener.pool] : undefined;
    if (pool === undefined) {
      const near = nearest(listener.pool, names);
      const hint =
        near === undefined
          ? `the pools are ${names.map((n) => `"${n}"`).join(', ') || 'none'}`
          : `did you mean "${near}"?`;
      report(['listeners', i, 'pool'], `no pool of that name (${hint})`, listener.pool);
      return;
    }
    if ((listener.protocol === 'http' || listener.protocol === 'tcp') && isObject(pool)) {
      checkSchemes(listener.protocol, `listeners[${i}]`, ['pools', listener.pool], pool, report);
    }
  });
}

/** The adapters refuse endpoints whose scheme they cannot speak: say so here, with the path. */
function checkSchemes(
  protocol: 'http' | 'tcp',
  listener: string,
  at: Path,
  pool: Obj,
  report: Report,
): void {
  const schemes = protocol === 'http' ? HTTP_SCHEMES : TCP_SCHEMES;
  const want = protocol === 'http' ? 'an http: or https:' : 'a tcp:, http: or https:';
  if (Array.isArray(pool.endpoints)) {
    pool.endpoints.forEach((endpoint: unknown, i) => {
      const url =
        typeof endpoint === 'string' ? endpoint : isObject(endpoint) ? endpoint.url : undefined;
      if (typeof url !== 'string') return;
      const parsed = URL.parse(url);
      if (parsed === null) return;
      const path =
        typeof endpoint === 'string' ? [...at, 'endpoints', i] : [...at, 'endpoints', i, 'url'];
      if (!schemes.has(parsed.protocol)) {
        report(
          path,
          `must be ${want} URL: the ${protocol} listener ${listener} uses this pool`,
          url,
        );
      } else if (parsed.hostname === '' || (parsed.protocol === 'tcp:' && parsed.port === '')) {
        report(
          path,
          `must have a host and a port: the ${protocol} listener ${listener} uses this pool`,
          url,
        );
      }
    });
  }
  const dns =
    isObject(pool.discovery) && isObject(pool.discovery.dns) ? pool.discovery.dns : undefined;
  if (dns && protocol === 'http' && dns.scheme === 'tcp') {
    report(
      [...at, 'discovery', 'dns', 'scheme'],
      `must be "http" or "https": the http listener ${listener} uses this pool`,
      dns.scheme,
    );
  }
}
