/**
 * Credentials in endpoint URLs (`http://user:secret@host`) stay out of everything the pool
 * shows: ids, `endpoint.url`, snapshots, events and error messages carry a redacted form,
 * and only `endpoint.parsedUrl` (not enumerable, so neither `JSON.stringify` nor
 * `console.log` of an endpoint prints it) keeps them for the code that connects.
 */

/** What replaces a password, or a user given without one (a token: `https://TOKEN@host`). */
export const REDACTED = '***';

/**
 * `url` with its credentials redacted: the password becomes `***` and the user stays
 * (`http://user:***@host`); a user without a password is itself the secret as often as not
 * (a token sent as the user), so it becomes `***` (`http://***@host`). A URL without
 * credentials is returned as is (the same object).
 * @internal
 */
export function redactUrl(url: URL): URL {
  if (url.username === '' && url.password === '') return url;
  const redacted = new URL(url.href);
  if (redacted.password !== '') redacted.password = REDACTED;
  else redacted.username = REDACTED;
  return redacted;
}

/** `scheme://userinfo@`: the part of a URL-looking text that may hold credentials. */
const USERINFO = /^([a-z][a-z\d+.-]*:\/\/)([^/?#]*)@/i;

/**
 * Redacts credentials from text that may not parse as a URL, for error messages that quote
 * what was given: everything between `scheme://` and the last `@` of the authority is
 * replaced by `***`.
 * @internal
 */
export function redactText(text: string): string {
  return text.replace(USERINFO, `$1${REDACTED}@`);
}
