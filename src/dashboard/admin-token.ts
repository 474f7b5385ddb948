import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Checks `Authorization: Bearer <token>` against the admin token in constant time: both are
 * hashed (SHA-256) and the digests compared with `crypto.timingSafeEqual`, so neither the
 * token's length nor the position of the first wrong character shows in the time taken.
 * @internal
 */
export class AdminToken {
  readonly #digest: Buffer;

  constructor(token: string) {
    this.#digest = digest(token);
  }

  /** True when `authorization` is `Bearer <the token>` (scheme case-insensitive). */
  accepts(authorization: string | undefined): boolean {
    if (typeof authorization !== 'string') return false;
    const match = /^bearer +(\S+) *$/i.exec(authorization);
    // Compared even without a match, so a malformed header takes the same time.
    const given = digest(match?.[1] ?? '');
    return timingSafeEqual(given, this.#digest) && match !== null;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
