import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { type ScheduledEntry, Scheduler, type TimerApi } from '../../src/health/scheduler.js';

/** A virtual clock with manual timers: `advance(ms)` fires what falls due, in order. */
function virtualTimers() {
  let now = 0;
  let next = 1;
  const pending = new Map<number, { at: number; callback: () => void }>();
  const timers: TimerApi = {
    setTimeout(callback, ms) {
      const id = next++;
      pending.set(id, { at: now + ms, callback });
      return id;
    },
    clearTimeout(handle) {
      pending.delete(handle as number);
    },
  };
  return {
    timers,
    now: () => now,
    get pending() {
      return pending.size;
    },
    advance(ms: number) {
      const end = now + ms;
      for (let guard = 0; guard < 100_000; guard++) {
        let first: [number, { at: number; callback: () => void }] | undefined;
        for (const entry of pending) if (!first || entry[1].at < first[1].at) first = entry;
        if (!first || first[1].at > end) break;
        pending.delete(first[0]);
        now = Math.max(now, first[1].at);
        first[1].callback();
      }
      now = end;
    },
  };
}

interface Item extends ScheduledEntry {
  readonly name: number;
}
const item = (name: number): Item => ({ name, due: 0, heapIndex: -1 });

describe('Scheduler', () => {
  it('fires entries in due order with a single timer armed', () => {
    const v = virtualTimers();
    const fired: number[] = [];
    const s = new Scheduler<Item>((e) => fired.push(e.name), v.timers, v.now);
    const items = [item(0), item(1), item(2), item(3)];
    s.schedule(items[2]!, 30);
    s.schedule(items[0]!, 10);
    s.schedule(items[3]!, 40);
    s.schedule(items[1]!, 20);
    expect(v.pending).toBe(1);
    v.advance(25);
    expect(fired).toEqual([0, 1]);
    expect(v.pending).toBe(1);
    v.advance(100);
    expect(fired).toEqual([0, 1, 2, 3]);
    expect(v.pending).toBe(0);
    expect(s.size).toBe(0);
  });

  it('re-arms for an earlier entry and disarms when emptied', () => {
    const v = virtualTimers();
    const fired: number[] = [];
    const s = new Scheduler<Item>((e) => fired.push(e.name), v.timers, v.now);
    const a = item(1);
    const b = item(2);
    s.schedule(a, 1000);
    s.schedule(b, 5);
    expect(v.pending).toBe(1);
    v.advance(5);
    expect(fired).toEqual([2]);
    s.unschedule(a);
    expect(v.pending).toBe(0);
    s.schedule(a, 50);
    s.clear();
    expect(v.pending).toBe(0);
    expect(a.heapIndex).toBe(-1);
  });

  it('moves an entry that is scheduled again', () => {
    const v = virtualTimers();
    const fired: number[] = [];
    const s = new Scheduler<Item>((e) => fired.push(e.name), v.timers, v.now);
    const a = item(1);
    const b = item(2);
    s.schedule(a, 10);
    s.schedule(b, 20);
    s.schedule(a, 30);
    v.advance(100);
    expect(fired).toEqual([2, 1]);
  });

  it('an entry rescheduled at now by its callback waits for the next firing', () => {
    const v = virtualTimers();
    let calls = 0;
    const a = item(1);
    const s = new Scheduler<Item>(
      (e) => {
        calls++;
        if (calls < 3) s.schedule(e, v.now());
      },
      v.timers,
      v.now,
    );
    s.schedule(a, 0);
    v.advance(0);
    expect(calls).toBe(3);
  });

  it('with slack, entries due close together share one firing, none early and none later than the slack', () => {
    const v = virtualTimers();
    const fired: Array<[number, number]> = [];
    let firings = 0;
    const s = new Scheduler<Item>((e) => fired.push([e.name, v.now()]), v.timers, v.now, 10);
    const wrap = v.timers.setTimeout;
    v.timers.setTimeout = (callback, ms) =>
      wrap(() => {
        firings++;
        callback();
      }, ms);
    const dues = [1, 3, 9, 10, 11, 25];
    for (const [i, due] of dues.entries()) s.schedule(item(i), due);
    v.advance(100);
    expect(fired.map(([name]) => name)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(fired.map(([, at]) => at)).toEqual([10, 10, 10, 10, 20, 30]);
    expect(firings).toBe(3);
  });

  test.prop(
    [
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('schedule' as const), i: fc.nat(15), due: fc.nat(1000) }),
          fc.record({ op: fc.constant('unschedule' as const), i: fc.nat(15) }),
          fc.record({ op: fc.constant('advance' as const), ms: fc.nat(200) }),
        ),
        { maxLength: 80 },
      ),
      fc.constantFrom(0, 7),
    ],
    { numRuns: 200 },
  )(
    'fires exactly the scheduled entries, in due order, never early and at most the slack late',
    (ops, slack) => {
      const v = virtualTimers();
      const fired: Array<{ name: number; at: number; due: number }> = [];
      const model = new Map<number, number>();
      const s = new Scheduler<Item>(
        (e) => {
          fired.push({ name: e.name, at: v.now(), due: model.get(e.name)! });
          model.delete(e.name);
        },
        v.timers,
        v.now,
        slack,
      );
      const items = Array.from({ length: 16 }, (_, i) => item(i));
      for (const op of ops) {
        if (op.op === 'schedule') {
          const due = v.now() + op.due;
          s.schedule(items[op.i]!, due);
          model.set(op.i, due);
        } else if (op.op === 'unschedule') {
          s.unschedule(items[op.i]!);
          model.delete(op.i);
        } else {
          const before = fired.length;
          v.advance(op.ms);
          const batch = fired.slice(before);
          for (let k = 1; k < batch.length; k++) {
            expect(batch[k]!.due).toBeGreaterThanOrEqual(batch[k - 1]!.due);
          }
        }
        expect(v.pending).toBe(model.size > 0 ? 1 : 0);
        expect(s.size).toBe(model.size);
      }
      for (const f of fired) {
        expect(f.at).toBeGreaterThanOrEqual(f.due);
        if (slack === 0) expect(f.at).toBe(f.due);
        else expect(f.at - f.due).toBeLessThan(slack);
      }
      v.advance(10_000);
      expect(model.size).toBe(0);
    },
  );
});
