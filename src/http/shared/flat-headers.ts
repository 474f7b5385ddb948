/**
 * Helpers for headers in Node's flat form (`[name, value, name, value, …]`), shared by the
 * proxy's header pass, its hooks and its HTTP/1.1 client.
 * @internal
 */

/** Headers by lower-case name; a repeated name holds its values in order. */
export type HeaderObject = Record<string, string | string[] | undefined>;

/**
 * True when `name` (any case, a valid token: check that first) equals `lower` (lower
 * case). No allocation.
 */
export function eqi(name: string, lower: string): boolean {
  const n = lower.length;
  if (name.length !== n) return false;
  for (let i = 0; i < n; i++) {
    // For token characters, `| 0x20` folds A–Z onto a–z and leaves `-` alone.
    if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** The object of a flat list: names lower-cased, a repeated name's values as an array. */
export function headersFromFlat(flat: readonly string[]): HeaderObject {
  const out: HeaderObject = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const value = flat[i + 1]!;
    const prior = out[name];
    if (prior === undefined) out[name] = value;
    else if (typeof prior === 'string') out[name] = [prior, value];
    else prior.push(value);
  }
  return out;
}
