// A local typedoc plugin: draws the ```mermaid blocks of the project documents
// (docs/architecture.md) in the API site, as GitHub does. Mermaid is copied next to the
// site's assets and loaded only by pages that hold a diagram.
import { copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { JSX, RendererEvent } from 'typedoc';

const require = createRequire(import.meta.url);
const MERMAID = 'assets/mermaid.min.js';

/** Replaces each `<pre><code class="mermaid">` by the diagram it describes. */
const loader = (src) => `(() => {
  const blocks = document.querySelectorAll('pre > code.mermaid');
  if (blocks.length === 0) return;
  const script = document.createElement('script');
  script.src = ${JSON.stringify(src)};
  script.onload = () => {
    const nodes = [];
    for (const code of blocks) {
      const diagram = document.createElement('div');
      diagram.className = 'mermaid';
      diagram.textContent = code.textContent;
      code.parentElement.replaceWith(diagram);
      nodes.push(diagram);
    }
    const dark = document.documentElement.dataset.theme === 'dark' ||
      (document.documentElement.dataset.theme !== 'light' && matchMedia('(prefers-color-scheme: dark)').matches);
    window.mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: dark ? 'dark' : 'default' });
    window.mermaid.run({ nodes });
  };
  document.head.appendChild(script);
})();`;

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.renderer.hooks.on('body.end', (context) =>
    JSX.createElement(
      'script',
      null,
      JSX.createElement(JSX.Raw, { html: loader(context.relativeURL(MERMAID)) }),
    ),
  );
  app.renderer.on(RendererEvent.END, (event) => {
    copyFileSync(
      require.resolve('mermaid/dist/mermaid.min.js'),
      join(event.outputDirectory, MERMAID),
    );
  });
}
