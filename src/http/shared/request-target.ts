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
