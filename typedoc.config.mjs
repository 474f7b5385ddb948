// Entry points come from the same list as tsup's entries and package.json `exports`.
import entries from './scripts/entries.json' with { type: 'json' };

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  entryPoints: Object.values(entries),
  out: 'docs/api',
  name: 'switchyard',
  readme: 'README.md',
  excludePrivate: true,
  excludeInternal: true,
  validation: { notExported: true, invalidLink: true, notDocumented: true },
};
