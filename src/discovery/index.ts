/**
 * switchyard/discovery: membership from outside the process, for Node. {@link DnsDiscovery}
 * follows SRV, A or AAAA records (Kubernetes headless Services, Consul DNS) with their
 * TTLs, and keeps the last good set through DNS failures; the {@link Discovery} interface
 * and the {@link Membership} helper let another source (a watched file, the Kubernetes
 * API, Consul's HTTP API) feed pools the same way. See docs/guides/discovery.md and
 * docs/guides/fleet.md.
 *
 * @example
 * ```ts
 * import { Pool } from 'switchyard';
 * import { DnsDiscovery } from 'switchyard/discovery';
 *
 * const pool = new Pool({ endpoints: [] });
 * const discovery = new DnsDiscovery({ name: '_http._tcp.users.internal', servers: ['127.0.0.1:5353'] });
 * discovery.attach(pool);
 * discovery.onError((error) => console.warn(error.reason, error.message));
 * ```
 * @module
 */
export {
  DiscoveryError,
  type DiscoveryFailure,
  isDiscoveryError,
} from '../errors.js';
export type { Disposable } from '../events.js';
export {
  DEFAULT_DISCOVERY_DRAIN,
  type Discovery,
  type DiscoveryTarget,
  Membership,
  type MembershipOptions,
} from './discovery.js';
export { DnsDiscovery } from './dns-discovery.js';
export {
  DEFAULT_DNS_SCHEME,
  DEFAULT_DNS_TIMEOUT_MS,
  DEFAULT_DNS_TYPE,
  DEFAULT_MAX_REFRESH_MS,
  DEFAULT_MIN_REFRESH_MS,
  type DnsDiscoveryOptions,
} from './dns-options.js';
export type { DnsRecordType } from './dns-wire.js';
