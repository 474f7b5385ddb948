import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_ASSETS, DASHBOARD_CSP } from '../../src/dashboard/page/assets.js';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url);
const source = (name: string) => readFileSync(new URL(`src/dashboard/page/${name}`, root), 'utf8');

describe('the dashboard page assets', () => {
  it('are generated from the sources as committed (scripts/build-dashboard-assets.mjs)', async () => {
    const { stderr } = await run(process.execPath, [
      new URL('scripts/build-dashboard-assets.mjs', root).pathname,
      '--check',
    ]).catch((error: { stderr: string }) => ({ stderr: error.stderr }));
    expect(stderr).toBe('');
    expect(DASHBOARD_ASSETS.get('/')?.body).toBe(source('index.html'));
    expect(DASHBOARD_ASSETS.get('/assets/app.js')?.body).toBe(source('app.js'));
    expect(DASHBOARD_ASSETS.get('/assets/app.css')?.body).toBe(source('app.css'));
  });

  it('bundle uPlot with its licence, so nothing is read from node_modules at runtime', () => {
    const uplot = DASHBOARD_ASSETS.get('/assets/uPlot.iife.min.js')!;
    expect(uplot.contentType).toBe('text/javascript; charset=utf-8');
    expect(uplot.body).toMatch(/^\/\* uPlot \d+\.\d+\.\d+\nThe MIT License/);
    expect(uplot.body).toContain('var uPlot=');
    expect(DASHBOARD_ASSETS.get('/assets/uPlot.min.css')?.body).toContain('.uplot');
  });

  it('are keyed by path under the mount point, each with its content type', () => {
    expect([...DASHBOARD_ASSETS.keys()].sort()).toEqual([
      '/',
      '/assets/app.css',
      '/assets/app.js',
      '/assets/favicon.svg',
      '/assets/uPlot.iife.min.js',
      '/assets/uPlot.min.css',
    ]);
    expect(DASHBOARD_ASSETS.get('/')?.contentType).toBe('text/html; charset=utf-8');
    expect(DASHBOARD_ASSETS.get('/assets/app.css')?.contentType).toBe('text/css; charset=utf-8');
    expect(DASHBOARD_ASSETS.get('/assets/favicon.svg')?.contentType).toBe('image/svg+xml');
    expect(Object.isFrozen(DASHBOARD_ASSETS.get('/'))).toBe(true);
  });

  it('refer to one another by relative URL only, every one of them served', () => {
    const html = DASHBOARD_ASSETS.get('/')!.body;
    const refs = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(4);
    for (const ref of refs) {
      if (ref.startsWith('#')) continue;
      expect(ref, ref).toMatch(/^\.\//);
      const path = ref.slice(1);
      if (path.startsWith('/assets/')) expect(DASHBOARD_ASSETS.has(path), ref).toBe(true);
    }
    const app = DASHBOARD_ASSETS.get('/assets/app.js')!.body;
    expect(app).not.toMatch(/https?:\/\//);
    expect(app).not.toMatch(/['"`]\/(?:api|assets)\//);
    expect(DASHBOARD_ASSETS.get('/assets/app.css')!.body).not.toMatch(/url\(|@import|https?:/);
  });

  it("write data with textContent: the page's script has no HTML sink", () => {
    const app = DASHBOARD_ASSETS.get('/assets/app.js')!.body;
    for (const sink of [
      'innerHTML',
      'outerHTML',
      'insertAdjacentHTML',
      'document.write',
      'eval(',
      'new Function',
    ]) {
      expect(app, sink).not.toContain(sink);
    }
  });

  it('come with a Content-Security-Policy allowing the own origin only', () => {
    expect(DASHBOARD_CSP).toContain("default-src 'none'");
    for (const directive of ['script-src', 'style-src', 'connect-src', 'img-src']) {
      expect(DASHBOARD_CSP).toContain(`${directive} 'self';`);
    }
    expect(DASHBOARD_CSP).not.toMatch(/unsafe|\*|https?:|data:/);
    expect(DASHBOARD_CSP).toContain("frame-ancestors 'none'");
  });

  it('are in the built package, ESM and CJS, which loads no uplot at runtime (after npm run build)', async () => {
    type Entry = { DASHBOARD_ASSETS: ReadonlyMap<string, { body: string }>; DASHBOARD_CSP: string };
    const esm = (await import(new URL('dist/dashboard.js', root).href)) as Entry;
    const cjs = createRequire(import.meta.url)(
      new URL('dist/dashboard.cjs', root).pathname,
    ) as Entry;
    for (const built of [esm, cjs]) {
      expect([...built.DASHBOARD_ASSETS.keys()]).toEqual([...DASHBOARD_ASSETS.keys()]);
      for (const [path, asset] of DASHBOARD_ASSETS) {
        expect(built.DASHBOARD_ASSETS.get(path)?.body, path).toBe(asset.body);
      }
      expect(built.DASHBOARD_CSP).toBe(DASHBOARD_CSP);
    }
    for (const file of ['dist/dashboard.js', 'dist/dashboard.cjs']) {
      const text = readFileSync(new URL(file, root), 'utf8');
      expect(text, file).not.toMatch(/(?:from |require\()['"]uplot/);
      expect(text, file).not.toContain('node_modules');
    }
  });
});
