/**
 * The request target to forward (RFC 9112 §3.2): the path and query only, so that the
 * destination is always the pool's choice, never the client's.
 * @internal
 */

/**
 * The path to forward for a request target: origin-form (`/x?y`) as is; absolute-form
 * (`http://elsewhere/x?y`) reduced to its path and query; `undefined` for anything else
 * (authority-form, asterisk-form, another scheme, an empty target).
 *
 * @example
 * ```ts
 * targetPath('/users?page=2');          // '/users?page=2'
 * targetPath('http://elsewhere/users'); // '/users'
 * targetPath('http://elsewhere?q=1');   // '/?q=1'
 * targetPath('*');                      // undefined
 * ```
 */
export function targetPath(url: string | undefined): string | undefined {
  if (url === undefined || url.length === 0) return undefined;
  if (url.charCodeAt(0) === 47) return url;
  const scheme = url.indexOf('://');
  if (scheme === 4 || scheme === 5) {
    const name = url.slice(0, scheme).toLowerCase();
    if (name === 'http' || name === 'https') {
      const authorityEnd = url.slice(scheme + 3).search(/[/?]/);
      if (authorityEnd === -1) return '/';
      const rest = url.slice(scheme + 3 + authorityEnd);
      return rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
    }
  }
  return undefined;
}

/** A dot segment may be present: a `.` or `%2e` right after a separator, plain or encoded. */
const DOT_HINT = /(?:\/|\\|%2f|%5c)(?:\.|%2e)/i;
const ENCODED_SEPARATOR = /%2f|%5c|\\/i;
const ANY_DOT = /\.|%2e/i;
const SEPARATORS = /%2f|%5c|\\/gi;
const ONE_DOT = /^(?:\.|%2e)$/i;
const TWO_DOTS = /^(?:\.|%2e){2}$/i;

/**
 * Resolves the dot segments of an origin-form path (`/a/./b/../c?q` → `/a/c?q`), as NGINX
 * does before proxying, so that an endpoint's path prefix cannot be climbed out of: `.`
 * and `..` in any encoding (`%2e`, `.%2E`), including those a backend would see after
 * decoding an encoded separator (`..%2f`, `..%5c`, `..\`). The query is left alone.
 *
 * @returns the path unchanged when it holds no dot segment (the usual case, one regex
 *   test), the resolved path, or `undefined` when it climbs above the root — the request
 *   is then refused with 400, as NGINX does.
 * @example
 * ```ts
 * normalizePath('/a/../file');   // '/file'
 * normalizePath('/../secret');   // undefined
 * normalizePath('/..%2fsecret'); // undefined
 * ```
 */
export function normalizePath(path: string): string | undefined {
  // The usual path has no dot segment anywhere: one test, no slicing.
  if (!DOT_HINT.test(path)) return path;
  const q = path.indexOf('?');
  const pathname = q === -1 ? path : path.slice(0, q);
  if (q !== -1 && !DOT_HINT.test(pathname)) return path;
  const input = pathname.split('/');
  const out: string[] = [];
  let directory = false;
  for (let i = 1; i < input.length; i++) {
    const segment = input[i]!;
    // A segment with an encoded separator and a dot is read as the backend may decode it.
    const parts =
      ENCODED_SEPARATOR.test(segment) && ANY_DOT.test(segment)
        ? segment.split(SEPARATORS)
        : [segment];
    for (const part of parts) {
      directory = false;
      if (ONE_DOT.test(part)) {
        directory = true;
      } else if (TWO_DOTS.test(part)) {
        if (out.length === 0) return undefined;
        out.pop();
        directory = true;
      } else out.push(part);
    }
  }
  const resolved = `/${out.join('/')}${directory && out.length > 0 ? '/' : ''}`;
  return q === -1 ? resolved : resolved + path.slice(q);
}
