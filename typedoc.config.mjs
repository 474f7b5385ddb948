// Entry points come from the same list as tsup's entries and package.json `exports`.
import entries from './scripts/entries.json' with { type: 'json' };

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  entryPoints: Object.values(entries),
  out: 'docs/api',
  name: 'switchyard',
  readme: 'README.md',
  // Design pages beside the API: the architecture (layers, request flow, endpoint states,
  // failover, allocations), its Mermaid diagrams drawn in the browser (scripts/typedoc-mermaid.mjs).
  projectDocuments: ['docs/architecture.md'],
  ignoredHighlightLanguages: ['mermaid'],
  plugin: ['./scripts/typedoc-mermaid.mjs'],
  excludePrivate: true,
  excludeInternal: true,
  // No public repository URL yet: no source links rather than broken ones.
  disableSources: true,
  treatWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, notDocumented: true },
};
