import { describe, expect, it } from 'vitest';
import { ConnectDeadlines, type DeadlineOwner } from '../../src/tcp/connect-deadlines.js';

function owner(log: string[], name: string): DeadlineOwner<string> {
  return { connectTimedOut: (subject) => log.push(`${name}:${subject}`) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ConnectDeadlines', () => {
  it('calls owners in order once their deadline passed, and not the cancelled ones', async () => {
    const deadlines = new ConnectDeadlines<string>(40);
    const log: string[] = [];
    const started = performance.now();
    deadlines.add(owner(log, 'a'), 'x');
    const b = deadlines.add(owner(log, 'b'), 'y');
    deadlines.add(owner(log, 'c'), 'z');
    deadlines.cancel(b);
    deadlines.cancel(b); // twice: no effect
    await sleep(20);
    expect(log).toEqual([]);
    await sleep(60);
    expect(log).toEqual(['a:x', 'c:z']);
    expect(performance.now() - started).toBeGreaterThanOrEqual(39);
  });

  it('lets an owner add an attempt while being called (failover)', async () => {
    const deadlines = new ConnectDeadlines<string>(20);
    const log: string[] = [];
    const retry: DeadlineOwner<string> = {
      connectTimedOut: (subject) => {
        log.push(subject);
        if (subject === 'first') deadlines.add(retry, 'second');
      },
    };
    deadlines.add(retry, 'first');
    await sleep(100);
    expect(log).toEqual(['first', 'second']);
  });

  it('survives many entries (compaction) and a clear()', async () => {
    const deadlines = new ConnectDeadlines<number>(15);
    const log: string[] = [];
    const o = { connectTimedOut: (n: number) => log.push(String(n)) };
    const slots: number[] = [];
    for (let i = 0; i < 5_000; i++) slots.push(deadlines.add(o, i));
    for (const slot of slots.slice(0, 4_990)) deadlines.cancel(slot);
    await sleep(60);
    expect(log).toEqual([
      '4990',
      '4991',
      '4992',
      '4993',
      '4994',
      '4995',
      '4996',
      '4997',
      '4998',
      '4999',
    ]);
    // All cancelled before their deadline: nothing is called.
    const late = [deadlines.add(o, 1), deadlines.add(o, 2)];
    for (const slot of late) deadlines.cancel(slot);
    await sleep(40);
    expect(log).toHaveLength(10);
    // Slots from before a clear() are ignored.
    deadlines.clear();
    deadlines.cancel(slots[4_999]!);
    deadlines.add(o, 7);
    await sleep(40);
    expect(log.at(-1)).toBe('7');
  });
});
