import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, root, tempDir } from './serve-support.js';

const read = (path: string) => readFileSync(join(root, path), 'utf8');

describe('examples/serve', () => {
  it('the commented config passes check', () => {
    const out = execFileSync(process.execPath, [CLI, 'check', 'examples/serve/switchyard.yaml'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(out).toBe('examples/serve/switchyard.yaml: ok\n');
    const config = read('examples/serve/switchyard.yaml');
    // HTTP, TCP and the dashboard, with comments.
    expect(config).toMatch(/protocol: http/);
    expect(config).toMatch(/protocol: tcp/);
    expect(config).toMatch(/^dashboard:/m);
    expect(config.split('\n').filter((l) => l.trim().startsWith('#')).length).toBeGreaterThan(10);
  });

  it('the systemd unit passes systemd-analyze verify, with the real bin in place of the installed one', () => {
    const unit = read('examples/serve/switchyard.service');
    const exec = /^ExecStart=(\S+) serve --config (\S+)/m.exec(unit);
    expect(exec).not.toBeNull();
    const [, bin, config] = exec!;
    expect(bin).toBe('/usr/local/bin/switchyard');
    expect(unit).toMatch(new RegExp(`^ExecStartPre=${bin} check ${config}$`, 'm'));
    expect(unit).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    // The bin of package.json is the file the unit runs once installed.
    expect(JSON.parse(read('package.json')).bin.switchyard).toBe('./dist/cli.js');

    const dir = tempDir();
    const localBin = join(dir, 'bin', 'switchyard');
    mkdirSync(join(dir, 'bin'));
    symlinkSync(CLI, localBin);
    const localConfig = join(dir, 'switchyard.yaml');
    writeFileSync(localConfig, read('examples/serve/switchyard.yaml'));
    const local = join(dir, 'switchyard.service');
    writeFileSync(local, unit.replaceAll(bin!, localBin).replaceAll(config!, localConfig));
    const verify = spawnSync('systemd-analyze', ['verify', local], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(verify.error).toBeUndefined();
    expect(verify.stderr.split('\n').filter((l) => l.includes('switchyard.service'))).toEqual([]);
    expect(verify.status).toBe(0);
    // What ExecStartPre runs passes.
    const check = spawnSync(localBin, ['check', localConfig], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` },
    });
    expect(check.stdout).toBe(`${localConfig}: ok\n`);
    expect(check.status).toBe(0);
  });

  it('the Dockerfile copies real files and runs the bin with the example config', () => {
    const dockerfile = read('examples/serve/Dockerfile');
    const copies = [...dockerfile.matchAll(/^COPY (.+) (\S+)$/gm)].map((m) => m[1]!.split(/\s+/));
    expect(copies.length).toBeGreaterThanOrEqual(3);
    for (const sources of copies)
      for (const source of sources)
        expect(
          statSync(join(root, source)).isFile() || statSync(join(root, source)).isDirectory(),
        ).toBe(true);
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!);
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!);
    expect(entrypoint).toEqual(['node', '/opt/switchyard/dist/cli.js']);
    expect(dockerfile).toMatch(/^WORKDIR \/opt\/switchyard$/m);
    expect(dockerfile).toMatch(/^COPY dist \.\/dist$/m);
    expect(cmd).toEqual(['serve', '--config', '/etc/switchyard/switchyard.yaml']);
    expect(dockerfile).toMatch(
      /^COPY examples\/serve\/switchyard\.yaml \/etc\/switchyard\/switchyard\.yaml$/m,
    );
    expect(dockerfile).toMatch(/^FROM node:24/m);
  });
});
