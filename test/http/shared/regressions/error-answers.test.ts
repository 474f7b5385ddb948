import { request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  AbortedError,
  isAbortedError,
  isPoolClosedError,
  isSwitchyardError,
} from '../../../../src/errors.js';
import { createBalancedDispatcher } from '../../../../src/http/index.js';
import { CLIENT_GONE, DISCARDED } from '../../../../src/http/shared/try-loop.js';
import type { PoolEndpoint } from '../../../../src/pool/types.js';
import type { Selector } from '../../../../src/selectors/index.js';
import { upgradeRequest } from '../../proxy/upgrade-support.js';
import {
  failOnProcessProblems,
  makePool,
  namedBackend,
  send,
  startProxy,
} from '../../proxy-support.js';

// Bug class: a closed proxy answered as NoEndpointError; a custom selector that throws
// became a 503 "no endpoint" that hid the bug; ERR_ABORTED had no class, and the three
// exchanges aborted their tries with three different reasons.

failOnProcessProblems();

class ThrowingSelector implements Selector<PoolEndpoint> {
  update(): void {}
  pick(): PoolEndpoint | undefined {
    throw new Error('selector bug');
  }
}

describe('the proxy’s own answers', () => {
  it('a closed proxy answers 503 with PoolClosedError, on requests and upgrades', async () => {
    const a = await namedBackend('a');
    const errors: Error[] = [];
    const { url, proxy } = await startProxy(makePool([a.url]), {
      onError: (error, _req, res) => {
        errors.push(error);
        res.writeHead(503).end('closed');
      },
    });
    await proxy.close();
    expect((await send(url)).status).toBe(503);
    expect(isPoolClosedError(errors[0])).toBe(true);
    const { res } = await upgradeRequest(url);
    expect(res.statusCode).toBe(503);
    expect(a.requests).toHaveLength(0);
  });

  it('a throwing selector is a 500 surfaced through onError, not a 503', async () => {
    const a = await namedBackend('a');
    const errors: Error[] = [];
    const { url } = await startProxy(makePool([a.url], { selector: new ThrowingSelector() }), {
      onError: (error, _req, res) => {
        errors.push(error);
        res.writeHead(500).end('bug');
      },
    });
    expect((await send(url)).status).toBe(500);
    expect(errors.map((e) => e.message)).toEqual(['selector bug']);
    const plain = await startProxy(makePool([a.url], { selector: new ThrowingSelector() }));
    const reply = await send(plain.url);
    expect(reply.status).toBe(500);
    expect(reply.body).toBe('500 Internal Server Error: proxy error\n');
    const { res } = await upgradeRequest(plain.url);
    expect(res.statusCode).toBe(500);
  });

  it('a throwing selector reaches the balanced dispatcher’s caller as is', async () => {
    const a = await namedBackend('a');
    const dispatcher = createBalancedDispatcher(
      makePool([a.url], { selector: new ThrowingSelector() }),
    );
    onTestFinished(() => dispatcher.destroy());
    await expect(request('http://service.internal/', { dispatcher })).rejects.toThrow(
      'selector bug',
    );
  });

  it('aborts tries with one AbortedError class (code ERR_ABORTED) on every path', () => {
    for (const reason of [CLIENT_GONE, DISCARDED, new AbortedError()]) {
      expect(reason).toBeInstanceOf(AbortedError);
      expect(isAbortedError(reason)).toBe(true);
      expect(isSwitchyardError(reason)).toBe(true);
      expect(reason.code).toBe('ERR_ABORTED');
      expect(reason.name).toBe('AbortedError');
    }
  });
});
