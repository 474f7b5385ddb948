import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  configJsonSchemaText,
  configReference,
  REFERENCE_MARKERS,
  replaceReference,
} from '../../src/config/config-document.js';
import { parseListenAddress, parseText, validateConfig } from '../../src/config/index.js';
import { root } from '../cli/serve-support.js';

const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** Every config in fenced json/yaml blocks of a Markdown file: the blocks holding `pools`. */
function examplesIn(path: string): Array<{ where: string; syntax: string; text: string }> {
  const out: Array<{ where: string; syntax: string; text: string }> = [];
  const fence = /^```(json|ya?ml)\n([\s\S]*?)^```$/gm;
  for (const match of read(path).matchAll(fence)) {
    const text = match[2]!;
    if (!/^\s*"?pools"?:/m.test(text)) continue;
    out.push({ where: `${path} (block at offset ${match.index})`, syntax: match[1]!, text });
  }
  return out;
}

describe('generated from the config definition', () => {
  it('schema.json is up to date (npm run config:generate)', () => {
    expect(read('schema.json')).toBe(configJsonSchemaText());
  });

  it('the reference in docs/guides/serve.md is up to date (npm run config:generate)', () => {
    const guide = read('docs/guides/serve.md');
    expect(guide).toContain(REFERENCE_MARKERS[0]);
    expect(replaceReference(guide, configReference())).toBe(guide);
  });

  it('the reference names every key of every section', () => {
    const reference = configReference();
    for (const key of [
      'pools.<name>.endpoints[].weight',
      'pools.<name>.endpoints[].priority',
      'pools.<name>.discovery.dns.name',
      'pools.<name>.selector.tableSize',
      'pools.<name>.healthCheck.expectStatus',
      'pools.<name>.healthCheck.send',
      'pools.<name>.outlierDetection.consecutiveFailures',
      'pools.<name>.slowStartMs',
      'pools.<name>.panicThreshold',
      'listeners[].retry.budget.ratio',
      'listeners[].timeouts.connectMs',
      'listeners[].affinity.cookie.sameSite',
      'listeners[].affinity.by',
      'listeners[].trustProxy',
      'listeners[].proxyProtocol',
      'listeners[].idleTimeoutMs',
      'dashboard.admin.tokenEnv',
    ]) {
      expect(reference).toContain(`| \`${key}\` |`);
    }
  });

  it('schema.json ships in the package and says exactly one of endpoints and discovery', () => {
    const pkg = JSON.parse(read('package.json'));
    expect(pkg.files).toContain('schema.json');
    const schema = JSON.parse(read('schema.json'));
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.pools.additionalProperties.oneOf).toEqual([
      { required: ['endpoints'] },
      { required: ['discovery'] },
    ]);
  });

  it("schema.json's listen pattern agrees with the runtime's parser", () => {
    const schema = JSON.parse(read('schema.json'));
    const pattern = new RegExp(schema.properties.dashboard.properties.listen.pattern);
    for (const text of ['127.0.0.1:8080', '[::1]:8080', 'localhost:80', 'app.internal:0']) {
      expect(pattern.test(text), text).toBe(true);
      expect(typeof parseListenAddress(text), text).toBe('object');
    }
    for (const text of ['8080', ':80', '::1:80', 'host', 'a b:80']) {
      expect(pattern.test(text), text).toBe(false);
      expect(typeof parseListenAddress(text), text).toBe('string');
    }
  });

  const examples = [
    ...examplesIn('docs/guides/serve.md'),
    ...examplesIn('README.md'),
    ...readdirSync(join(root, 'examples/serve'))
      .filter((f) => /\.(json|ya?ml)$/.test(f))
      .map((f) => ({
        where: `examples/serve/${f}`,
        syntax: f.split('.').pop()!,
        text: read(`examples/serve/${f}`),
      })),
  ];

  it('finds the examples of the docs and examples/serve', () => {
    expect(examples.length).toBeGreaterThanOrEqual(4);
    expect(examples.some((e) => e.where.startsWith('README.md'))).toBe(true);
  });

  it.each(examples.map((e) => [e.where, e] as const))('accepts %s', (_where, example) => {
    const parsed = parseText(`example.${example.syntax}`, example.text);
    const result = validateConfig(parsed);
    expect(result.ok ? [] : result.issues).toEqual([]);
  });
});
