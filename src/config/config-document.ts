/**
 * What is generated from {@link configSchema}: the shipped `schema.json` and the config
 * reference table of docs/guides/serve.md (`npm run config:generate` writes both; a test
 * fails when either is stale).
 * @internal
 */
import { z } from 'zod';
import { configSchema } from './config-schema.js';
import { listenSchema } from './listener-schema.js';
import { poolSchema, urlSchema } from './pool-schema.js';

/** Where the schema says it lives (the `$id` of `schema.json`). */
export const SCHEMA_ID = 'https://unpkg.com/switchyard/schema.json';

type Json = Record<string, unknown>;

/** `host:port` or `[ipv6]:port`, for editors (the runtime check is `parseListenAddress`). */
const LISTEN_PATTERN = '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9][A-Za-z0-9.-]*):[0-9]{1,5}$';

/** The keys that tell the variants of a union apart. */
const DISCRIMINATORS = new Set(['type', 'protocol']);

/** The JSON Schema (draft 2020-12) of the config file, as shipped in `schema.json`. */
export function configJsonSchema(): Json {
  const schema = z.toJSONSchema(configSchema, {
    io: 'input',
    override: ({ zodSchema, jsonSchema }) => {
      // "Exactly one of endpoints and discovery" is a cross-section check at runtime;
      // editors get it from the schema too.
      if (zodSchema === poolSchema) {
        jsonSchema.oneOf = [{ required: ['endpoints'] }, { required: ['discovery'] }];
      }
      // What the refinements check, as far as JSON Schema can say it.
      if (zodSchema === listenSchema) jsonSchema.pattern = LISTEN_PATTERN;
      if (zodSchema === urlSchema) jsonSchema.format = 'uri';
    },
  }) as Json;
  return {
    $schema: schema.$schema,
    $id: SCHEMA_ID,
    title: 'switchyard serve config',
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema')),
  };
}

/** `schema.json` as written to disk: two-space JSON and a final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

interface Row {
  path: string;
  type: string;
  where: string[];
  description: string;
}

/** The config reference: one Markdown table row per key, generated from the schema. */
export function configReference(): string {
  const rows: Row[] = [];
  walk(configJsonSchema(), '', '', rows);
  const lines = ['| key | type | applies to | description |', '| --- | --- | --- | --- |'];
  for (const row of rows) {
    lines.push(
      `| \`${row.path}\` | ${row.type} | ${row.where.join(', ') || 'all'} | ${escapeCell(row.description)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function walk(node: Json, path: string, where: string, rows: Row[]): void {
  if (path !== '' && path !== '$schema')
    add(rows, {
      path,
      type: typeOf(node),
      where: where ? [where] : [],
      description: describe(node),
    });
  const properties = node.properties as Record<string, Json> | undefined;
  if (properties) {
    const required = new Set((node.required as string[] | undefined) ?? []);
    for (const [key, child] of Object.entries(properties)) {
      if (key === '$schema') continue;
      const childPath = path === '' ? key : `${path}.${key}`;
      walk(
        required.has(key) && path !== ''
          ? { ...child, description: `Required. ${describe(child)}` }
          : child,
        childPath,
        where,
        rows,
      );
    }
  }
  const record = node.additionalProperties;
  if (typeof record === 'object' && record !== null && (record as Json).type === 'object') {
    walk(record as Json, `${path}.<name>`, where, rows);
  }
  if (
    node.type === 'array' &&
    typeof node.items === 'object' &&
    node.items !== null &&
    !Array.isArray(node.items)
  ) {
    const items = node.items as Json;
    if (items.properties || items.anyOf || items.oneOf)
      walkVariants(items, `${path}[]`, where, rows);
  }
  if (!properties) walkVariants(node, path, where, rows);
}

/** The object variants of a union, each labelled by its discriminator (`protocol: http`). */
function walkVariants(node: Json, path: string, where: string, rows: Row[]): void {
  const variants = [...((node.anyOf as Json[]) ?? []), ...((node.oneOf as Json[]) ?? [])].flatMap(
    (v) =>
      v.oneOf || v.anyOf ? [...((v.oneOf as Json[]) ?? []), ...((v.anyOf as Json[]) ?? [])] : [v],
  );
  if (variants.length === 0 && node.properties) {
    walk({ ...node, description: undefined }, path, where, rows);
    return;
  }
  for (const variant of variants) {
    const properties = variant.properties as Record<string, Json> | undefined;
    if (!properties) continue;
    const tag = Object.entries(properties).find(
      ([key, p]) => DISCRIMINATORS.has(key) && typeof p.const === 'string',
    );
    const label = tag ? `${tag[0]}: ${tag[1].const}` : where;
    for (const [key, child] of Object.entries(properties)) {
      if (tag && key === tag[0]) continue;
      const required = ((variant.required as string[] | undefined) ?? []).includes(key);
      walk(
        required ? { ...child, description: `Required. ${describe(child)}` } : child,
        `${path}.${key}`,
        label,
        rows,
      );
    }
  }
}

function add(rows: Row[], row: Row): void {
  const same = rows.find(
    (r) => r.path === row.path && r.description === row.description && r.type === row.type,
  );
  if (same) {
    for (const w of row.where) if (!same.where.includes(w)) same.where.push(w);
    return;
  }
  rows.push(row);
}

function describe(node: Json): string {
  return typeof node.description === 'string' ? node.description : '';
}

function typeOf(node: Json): string {
  if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
  if (Array.isArray(node.enum))
    return node.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  const union = (node.anyOf ?? node.oneOf) as Json[] | undefined;
  if (union && node.type === undefined) return [...new Set(union.map(typeOf))].join(' \\| ');
  switch (node.type) {
    case 'integer':
    case 'number':
      return `${node.type}${range(node)}`;
    case 'array':
      return node.prefixItems
        ? 'array [min, max]'
        : `array of ${typeOf((node.items as Json) ?? {})}`;
    case 'object':
      return 'object';
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    default:
      return 'any';
  }
}

function range(node: Json): string {
  const parts: string[] = [];
  if (typeof node.exclusiveMinimum === 'number') parts.push(`> ${node.exclusiveMinimum}`);
  if (typeof node.minimum === 'number' && node.minimum > -Number.MAX_SAFE_INTEGER)
    parts.push(`≥ ${node.minimum}`);
  if (typeof node.maximum === 'number' && node.maximum < Number.MAX_SAFE_INTEGER)
    parts.push(`≤ ${node.maximum}`);
  return parts.length ? ` ${parts.join(', ')}` : '';
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The markers around the generated reference in docs/guides/serve.md. */
export const REFERENCE_MARKERS = [
  '<!-- config-reference:start -->',
  '<!-- config-reference:end -->',
] as const;

/** `guide` with the text between the reference markers replaced by `reference`. */
export function replaceReference(guide: string, reference: string): string {
  const [start, end] = REFERENCE_MARKERS;
  const from = guide.indexOf(start);
  const to = guide.indexOf(end);
  if (from < 0 || to < from) throw new Error(`the guide has no ${start} … ${end} markers`);
  return `${guide.slice(0, from + start.length)}\n${reference}${guide.slice(to)}`;
}
