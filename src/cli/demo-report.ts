import type { DemoSummary } from './demo-options.js';

/** Width of one backend's group of columns in the per-second table. @internal */
export const COLUMN = 32;

/** One backend's answers in the current one-second window. @internal */
export interface Window {
  count: number;
  latencies: number[];
}

/** Prints the end-of-run summary. @internal */
export function printSummary(print: (line?: string) => void, s: DemoSummary): void {
  const sum = s.successes || 1;
  print();
  print(
    `summary  ${s.requests} requests in ${seconds(s.elapsedMs, 1)}${s.aborted ? ' (stopped early)' : ''}: ` +
      `${s.successes} succeeded, ${s.failures} failed${s.unanswered ? `, ${s.unanswered} unanswered` : ''}`,
  );
  for (const b of s.backends) {
    let phases = '';
    if (s.killedAtMs !== null)
      phases += `   sent before the kill ${b.before}, while ${s.killed} was down ${b.down}`;
    if (s.restoredAtMs !== null) phases += `, after its restart ${b.after}`;
    print(
      `  ${b.name.padEnd(7)}${String(b.requests).padStart(7)}  ${`${Math.round((100 * b.requests) / sum)}%`.padStart(4)}${phases}`,
    );
  }
  for (const [cause, count] of Object.entries(s.failureCauses))
    print(`  failed: ${count} × ${cause}`);
  print();
}

/** An empty one-second window. @internal */
export function fresh(): Window {
  return { count: 0, latencies: [] };
}

/** Median (upper for even counts); sorts `values` in place. @internal */
export function median(values: number[]): number {
  values.sort((a, b) => a - b);
  return values[values.length >> 1] ?? 0;
}

/** `1500` → `'2s'` (or `'1.5s'` with `digits` 1). @internal */
export function seconds(ms: number, digits = 0): string {
  return `${(ms / 1000).toFixed(digits)}s`;
}
