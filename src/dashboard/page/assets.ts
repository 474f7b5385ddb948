import { PAGE_FILES } from './assets.generated.js';

/** One static file of the dashboard page: serve `body` (UTF-8 text) as `contentType`. */
export interface DashboardAsset {
  /** The `Content-Type` to answer with, e.g. `text/css; charset=utf-8`. */
  readonly contentType: string;
  /** The file's text. */
  readonly body: string;
}

/**
 * The dashboard page's static files, keyed by path relative to where the dashboard is
 * mounted: `/` is the page (`index.html`); `/assets/app.js`, `/assets/app.css`,
 * `/assets/uPlot.iife.min.js`, `/assets/uPlot.min.css` and `/assets/favicon.svg` the rest.
 * The router serves every key with a `GET` (and `HEAD`).
 *
 * The page refers to everything by relative URL (`./assets/…`, `./api/snapshot`,
 * `./api/events`, `./api/pools/…`), so it works under any prefix — provided it is served at
 * a URL ending in `/`: mounted at `/lb`, a request for `/lb` should be redirected to `/lb/`.
 * Admin actions send path segments through `encodeURIComponent` (an id such as
 * `http://10.0.0.1:80` arrives as `http%3A%2F%2F10.0.0.1%3A80`).
 *
 * The files are bundled at build time (`scripts/build-dashboard-assets.mjs`, uPlot
 * included): nothing is read from disk or `node_modules` at runtime and the page makes no
 * request outside its own origin.
 * @example
 * ```ts
 * const asset = DASHBOARD_ASSETS.get('/');
 * res.writeHead(200, {
 *   'content-type': asset.contentType,
 *   'content-security-policy': DASHBOARD_CSP,
 * }).end(asset.body);
 * ```
 */
export const DASHBOARD_ASSETS: ReadonlyMap<string, DashboardAsset> = new Map(
  PAGE_FILES.map(([path, contentType, body]) => [path, Object.freeze({ contentType, body })]),
);

/**
 * The `Content-Security-Policy` the dashboard's answers carry (the page at least): scripts,
 * styles, images and connections from the dashboard's own origin only; no inline script or
 * style, no plugin, no form target, no framing. The page is written to work under it (its
 * code sets styles through the CSSOM, which the policy allows, and data only through
 * `textContent`), so a hostile endpoint id that slipped into markup still could not run.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
