import { spawn } from 'node:child_process';

/**
 * The command that opens a URL in the default browser: `open` on macOS, `start` through
 * `cmd` on Windows, `xdg-open` elsewhere. The URL is appended as the last argument.
 * @example
 * ```ts
 * openCommand('darwin'); // ['open']
 * ```
 */
export function openCommand(platform: NodeJS.Platform = process.platform): readonly string[] {
  if (platform === 'darwin') return ['open'];
  // `start`'s first quoted argument is a window title: an empty one, so the URL is the target.
  if (platform === 'win32') return ['cmd', '/c', 'start', '""'];
  return ['xdg-open'];
}

/**
 * Opens `url` in the default browser with `command` (see {@link openCommand}), detached:
 * the browser outlives the caller and does not keep it running.
 * @returns resolves when the opener exits 0.
 * @throws (rejects) when the opener cannot be started (not installed: `ENOENT`) or exits
 *   with another code; the caller decides whether that matters (the demo only warns).
 * @example
 * ```ts
 * await openUrl('http://127.0.0.1:9900/').catch((e) => console.warn(e.message));
 * ```
 */
export function openUrl(url: string, command: readonly string[] = openCommand()): Promise<void> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = command;
    if (file === undefined) {
      reject(new TypeError('openUrl needs a command'));
      return;
    }
    const child = spawn(file, [...args, url], {
      stdio: 'ignore',
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${file} exited with ${code ?? signal}`));
    });
    child.unref();
  });
}
