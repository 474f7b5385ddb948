import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Every ```mermaid block of the README and of `docs/` (the generated `docs/api/` apart) is
 * parsed and rendered by Mermaid itself, in headless Chromium, so that a diagram GitHub
 * or the API site would show as an error fails here first. With `MERMAID_SCREENSHOTS=dir`,
 * each rendered diagram is also saved there as a PNG, to look at.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = '/usr/bin/chromium';
const MERMAID = join(root, 'node_modules/mermaid/dist/mermaid.min.js');

interface Diagram {
  /** `docs/architecture.md#3`: the file and the diagram's number in it. */
  readonly name: string;
  readonly line: number;
  readonly source: string;
}

function markdownFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (relative(root, path) !== join('docs', 'api')) files.push(...markdownFiles(path));
    } else if (entry.name.endsWith('.md')) files.push(path);
  }
  return files;
}

/** The mermaid blocks of one Markdown text (fenced with three or more backticks or tildes). */
function mermaidBlocks(text: string): Array<{ line: number; source: string }> {
  const blocks: Array<{ line: number; source: string }> = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*mermaid\s*$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    while (
      j < lines.length &&
      !new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`).test(lines[j]!)
    ) {
      body.push(lines[j]!);
      j++;
    }
    blocks.push({ line: i + 1, source: body.join('\n') });
    i = j;
  }
  return blocks;
}

const files = [join(root, 'README.md'), ...markdownFiles(join(root, 'docs'))];
const diagrams: Diagram[] = files.flatMap((file) =>
  mermaidBlocks(readFileSync(file, 'utf8')).map((block, i) => ({
    name: `${relative(root, file)}#${i + 1}`,
    line: block.line,
    source: block.source,
  })),
);

let context: BrowserContext;
let userDataDir: string;

beforeAll(async () => {
  userDataDir = mkdtempSync(join(tmpdir(), 'switchyard-mermaid-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  // Nothing leaves the machine: the page has everything it needs inline.
  await context.route('**/*', (route) => route.abort());
}, 60_000);

afterAll(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

describe('mermaid diagrams in the docs', () => {
  it('finds the diagrams (the architecture page has five at least)', () => {
    expect(
      diagrams.filter((d) => d.name.startsWith('docs/architecture.md')).length,
    ).toBeGreaterThanOrEqual(5);
  });

  it('extracts blocks with any fence length and ignores other languages', () => {
    const text = ['```ts', 'x', '```', '````mermaid', 'graph LR', '```', 'a-->b', '````'].join(
      '\n',
    );
    expect(mermaidBlocks(text)).toEqual([{ line: 4, source: 'graph LR\n```\na-->b' }]);
  });

  it('parses and renders every one of them', async () => {
    const page = await context.newPage();
    await page.setContent('<!doctype html><html><body></body></html>');
    await page.addScriptTag({ content: readFileSync(MERMAID, 'utf8') });
    const results = await page.evaluate(
      async (sources: string[]) => {
        const mermaid = (globalThis as unknown as { mermaid: MermaidApi }).mermaid;
        mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });
        const out: Array<{ error?: string; svg?: string }> = [];
        for (let i = 0; i < sources.length; i++) {
          try {
            await mermaid.parse(sources[i]!);
            const { svg } = await mermaid.render(`diagram-${i}`, sources[i]!);
            out.push({ svg });
          } catch (error) {
            out.push({ error: String((error as Error)?.message ?? error) });
          }
        }
        return out;

        interface MermaidApi {
          initialize(config: object): void;
          parse(text: string): Promise<unknown>;
          render(id: string, text: string): Promise<{ svg: string }>;
        }
      },
      diagrams.map((d) => d.source),
    );

    const failures = results.flatMap((r, i) =>
      r.error === undefined && r.svg?.includes('<svg')
        ? []
        : [`${diagrams[i]!.name} (line ${diagrams[i]!.line}): ${r.error ?? 'no SVG'}`],
    );
    expect(failures).toEqual([]);
    // Mermaid draws a syntax error as an SVG of its own: none of those either.
    for (const [i, r] of results.entries()) {
      expect(r.svg, diagrams[i]!.name).not.toMatch(/Syntax error in text/);
    }

    const shots = process.env.MERMAID_SCREENSHOTS;
    if (shots) {
      mkdirSync(shots, { recursive: true });
      for (const [i, r] of results.entries()) {
        const name = diagrams[i]!.name.replace(/[^a-z0-9]+/gi, '-');
        writeFileSync(join(shots, `${name}.svg`), r.svg!);
        await page.setContent(
          `<!doctype html><html><body style="margin:0;background:#fff">${r.svg}</body></html>`,
        );
        await page
          .locator('svg')
          .first()
          .screenshot({ path: join(shots, `${name}.png`) });
      }
    }
    await page.close();
  }, 120_000);
});
