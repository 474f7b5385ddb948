// Entry points come from the same list as tsup's entries and package.json `exports`.
import entries from './scripts/entries.json' with { type: 'json' };

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  entryPoints: Object.values(entries),
  out: 'docs/api',
  name: 'switchyard',
  readme: 'README.md',
  // The guides and the architecture as pages of the site (linked from the README and from
  // each other), not raw files under media/; Mermaid diagrams are drawn in the browser
  // (scripts/typedoc-mermaid.mjs).
  projectDocuments: ['docs/architecture.md', 'docs/guides/*.md', 'docs/benchmarks.md'],
  ignoredHighlightLanguages: ['mermaid', 'promql'],
  plugin: ['./scripts/typedoc-mermaid.mjs'],
  excludePrivate: true,
  excludeInternal: true,
  // No public repository URL yet: no source links rather than broken ones.
  disableSources: true,
  treatWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, notDocumented: true },
};
