import { describe, expect, it } from 'vitest';
import { openCommand, openUrl } from '../../src/cli/open-url.js';

describe('openUrl', () => {
  it('names the opener of each platform', () => {
    expect(openCommand('linux')).toEqual(['xdg-open']);
    expect(openCommand('freebsd')).toEqual(['xdg-open']);
    expect(openCommand('darwin')).toEqual(['open']);
    expect(openCommand('win32')).toEqual(['cmd', '/c', 'start', '""']);
  });

  // Stand-ins for the opener: no browser is started by the tests.
  it('resolves when the opener exits 0', async () => {
    await expect(openUrl('http://127.0.0.1:1/', ['true'])).resolves.toBeUndefined();
  });

  it('rejects when the opener fails or is not installed', async () => {
    await expect(openUrl('http://127.0.0.1:1/', ['false'])).rejects.toThrow(
      /^false exited with 1$/,
    );
    await expect(
      openUrl('http://127.0.0.1:1/', ['/nonexistent/switchyard-opener']),
    ).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(openUrl('http://127.0.0.1:1/', [])).rejects.toThrow(TypeError);
  });
});
