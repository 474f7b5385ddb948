/**
 * The proxy's hooks, as an http-proxy-middleware user would use them: a path rewrite and
 * an extra header on the way in (once per try, with the try's endpoint), a header removed
 * and one added on the way out, an HTML body transformed, and a pool chosen per request.
 *
 * Two backends on 127.0.0.1 answer with what they saw. The example sends a few requests
 * through the proxy, prints what came back, and exits.
 *
 * Run (in a clone, after `npm ci`): npm run example examples/proxy-hooks.ts
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'switchyard';
import { createProxyHandler } from 'switchyard/http';

async function backend(name: string): Promise<string> {
  const server = http.createServer((req, res) => {
    const html = req.url?.endsWith('.html') === true;
    res.writeHead(200, {
      'content-type': html ? 'text/html' : 'text/plain',
      server: `${name}/1.0`,
    });
    res.end(
      html ? '<body>hello</body>' : `${name} saw ${req.url} tenant=${req.headers['x-tenant']}`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const pools = {
  api: new Pool({ endpoints: [await backend('api')] }),
  web: new Pool({ endpoints: [await backend('web')] }),
};

const proxy = createProxyHandler(
  // A pool per request (http-proxy-middleware's `router`): return long-lived pools.
  (req) => (req.url?.startsWith('/v1/') ? pools.api : pools.web),
  {
    // Once per try, on a fresh copy: right after a failover to another endpoint too.
    rewriteRequest: (head) => {
      head.path = head.path.replace(/^\/v1/, '');
      head.headers['x-tenant'] = 'acme';
    },
    // Once, on the response delivered.
    rewriteResponse: (head) => {
      delete head.headers.server;
      head.headers['x-proxied-by'] = 'switchyard';
    },
    // Whole HTML bodies, up to 64 KiB (a longer one is answered 502).
    responseBody: {
      when: (head) => String(head.headers['content-type']).startsWith('text/html'),
      transform: (body) => body.toString('utf8').replace('</body>', '<footer>hi</footer></body>'),
      maxBytes: 64 * 1024,
    },
  },
);
const server = http.createServer(proxy);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;

for (const path of ['/v1/users/7', '/index.html', '/about']) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  const server = res.headers.get('server') ?? '-';
  console.log(
    `GET ${path} -> ${res.status} ${await res.text()} (server: ${server}, x-proxied-by: ${res.headers.get('x-proxied-by')})`,
  );
}

await proxy.close();
await pools.api.close();
await pools.web.close();
server.close();
console.log('done');
