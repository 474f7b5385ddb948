// Takes docs/images/dashboard.png: runs `switchyard demo` from dist/ (npm run build first),
// opens its dashboard in Debian's Chromium at 1280×800 and shoots it partway, while the
// killed backend is down, so the page shows where traffic went and why.
//
//   node scripts/screenshot-dashboard.mjs [--at SECONDS] [--scheme light|dark] [--out FILE]
//                                         [--scale DEVICE_PIXEL_RATIO]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import launch from './chromium.json' with { type: 'json' };

const { values } = parseArgs({
  options: {
    at: { type: 'string', default: '50' },
    scheme: { type: 'string', default: 'light' },
    out: { type: 'string', default: 'docs/images/dashboard.png' },
    scale: { type: 'string', default: '1' },
  },
});
const atMs = Number(values.at) * 1000;
// The demo kills its fast backend at 30 % of its run and restarts it at 60 %: 100 s puts the
// kill at 30 s and the restart at 60 s.
const demo = spawn(process.execPath, ['dist/cli.js', 'demo', '--duration', '100'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const started = Date.now();
let output = '';
const url = await new Promise((resolve, reject) => {
  demo.stdout.on('data', (chunk) => {
    output += chunk;
    const match = output.match(/^dashboard {2}(\S+)/m);
    if (match) resolve(match[1]);
  });
  demo.once('exit', () => reject(new Error(`the demo ended first:\n${output}`)));
});

const browser = await chromium.launch(launch);
try {
  const page = await browser.newPage({
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: Number(values.scale),
    colorScheme: values.scheme === 'dark' ? 'dark' : 'light',
  });
  page.on('console', (message) => console.error(`page: ${message.text()}`));
  await page.goto(url);
  await page.waitForTimeout(Math.max(0, atMs - (Date.now() - started)));
  await page.screenshot({ path: values.out });
  console.log(`wrote ${values.out} at ${Math.round((Date.now() - started) / 1000)} s`);
} finally {
  await browser.close();
  demo.kill('SIGINT');
  await once(demo, 'exit');
}
