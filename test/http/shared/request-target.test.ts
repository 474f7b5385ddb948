import { describe, expect, it } from 'vitest';
import { targetPath } from '../../../src/http/shared/request-target.js';

describe('targetPath', () => {
  it('keeps an origin-form target as it is', () => {
    expect(targetPath('/')).toBe('/');
    expect(targetPath('/users/7?page=2#x')).toBe('/users/7?page=2#x');
    expect(targetPath('//double')).toBe('//double');
  });

  it('reduces an absolute-form target to its path and query: the pool picks the destination', () => {
    const table: [string, string][] = [
      ['http://elsewhere/users?page=2', '/users?page=2'],
      ['https://elsewhere:8443/a/b', '/a/b'],
      ['HTTP://Elsewhere', '/'],
      ['http://elsewhere?q=1', '/?q=1'],
      ['http://user@elsewhere/x', '/x'],
    ];
    for (const [target, path] of table) expect(targetPath(target), target).toBe(path);
  });

  it('refuses every other form', () => {
    for (const target of [
      undefined,
      '',
      '*',
      'elsewhere:443',
      'ftp://elsewhere/x',
      'ws://elsewhere/x',
      'x',
    ]) {
      expect(targetPath(target), String(target)).toBeUndefined();
    }
  });
});
