/** Default {@link DemoOptions.durationMs}: 20 s of traffic. */
export const DEFAULT_DEMO_DURATION_MS = 20_000;
/** Default {@link DemoOptions.rate}: 200 requests per second. */
export const DEFAULT_DEMO_RATE = 200;

/** Where the demo writes its text: `process.stdout`, a file stream, or a test buffer. */
export interface DemoOutput {
  write(text: string): unknown;
}

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** How long the traffic runs, in ms (1 s to 1 h). @default 20000 ({@link DEFAULT_DEMO_DURATION_MS}) */
  readonly durationMs?: number;
  /** Requests per second sent through the proxy (1 to 5 000). @default 200 ({@link DEFAULT_DEMO_RATE}) */
  readonly rate?: number;
  /** When the fast backend is killed, in ms after the traffic starts. @default 30 % of `durationMs` */
  readonly killAtMs?: number;
  /** When it is started again on the same port; after `killAtMs`. @default 60 % of `durationMs` */
  readonly restoreAtMs?: number;
  /** Where the dashboard table and the summary go. @default process.stdout */
  readonly output?: DemoOutput;
  /** Ends the demo early (the command line wires Ctrl-C to it); the summary is still printed. */
  readonly signal?: AbortSignal;
  /**
   * Opens the dashboard once it listens: `true` in the default browser (`xdg-open`, `open`
   * or `start`), or a function given its URL. Failing to open is a warning in the output,
   * never an error of the demo.
   * @default false
   */
  readonly open?: boolean | ((url: string) => unknown);
}

/** Requests served by one demo backend, in total and by when they were sent. */
export interface DemoBackendSummary {
  /** `fast`, `medium` or `slow`. */
  readonly name: string;
  /** Where it listened. */
  readonly url: string;
  /** Its typical answer delay in ms. */
  readonly delayMs: number;
  /** Successful answers it served. */
  readonly requests: number;
  /** Requests sent before the kill that it served. */
  readonly before: number;
  /** Requests sent while the killed backend was down that it served. */
  readonly down: number;
  /** Requests sent after the restore that it served. */
  readonly after: number;
}

/** What {@link runDemo} resolves to: the figures of the printed summary. */
export interface DemoSummary {
  /** The load balancer's URL. */
  readonly proxyUrl: string;
  /** The dashboard's URL (printed first). */
  readonly dashboardUrl: string;
  /** The backend that was killed and restored. */
  readonly killed: string;
  /** Requests sent. */
  readonly requests: number;
  /** 2xx answers. */
  readonly successes: number;
  /** Errors and non-2xx answers. */
  readonly failures: number;
  /** Requests still unanswered when the demo ended (only after an early stop). */
  readonly unanswered: number;
  /** Failures by cause (`status 502`, `ECONNRESET`, …). */
  readonly failureCauses: Readonly<Record<string, number>>;
  /** Per backend, in order fast, medium, slow. */
  readonly backends: readonly DemoBackendSummary[];
  /** How long the traffic ran, in ms. */
  readonly elapsedMs: number;
  /** When the killed backend went down, ms after the traffic started; `null` if it did not. */
  readonly killedAtMs: number | null;
  /** When it was started again; `null` if it was not. */
  readonly restoredAtMs: number | null;
  /** True when `signal` ended it early. */
  readonly aborted: boolean;
}

/** A number flag of `switchyard demo`: its bounds and what it counts, for the messages. */
export interface DemoFlag {
  /** The flag as typed: `--duration`. */
  readonly name: string;
  /** What the number counts, plural: `seconds`. */
  readonly unit: string;
  /** Smallest value. */
  readonly min: number;
  /** Largest value. */
  readonly max: number;
  /** A value to show in the message. */
  readonly example: number;
}

/** `--duration SEC`: seconds of traffic, as {@link DemoOptions.durationMs} bounds it. */
export const DURATION_FLAG: DemoFlag = {
  name: '--duration',
  unit: 'seconds',
  min: 1,
  max: 3_600,
  example: 30,
};

/** `--rate N`: requests per second, as {@link DemoOptions.rate} bounds it. */
export const RATE_FLAG: DemoFlag = {
  name: '--rate',
  unit: 'requests per second',
  min: 1,
  max: 5_000,
  example: 200,
};

/**
 * The value of a number flag, or `undefined` when it was not given.
 * @throws RangeError with the exact, readable message the command line prints:
 *   `--duration must be a number of seconds from 1 to 3600 (like 30), got "soon"`.
 */
export function readDemoFlag(flag: DemoFlag, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  // Plain decimals only: no `0x10`, `1e3` or `Infinity` passing for a number of seconds.
  const value = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (value >= flag.min && value <= flag.max) return value;
  throw new RangeError(
    `${flag.name} must be a number of ${flag.unit} from ${flag.min} to ${flag.max} (like ${flag.example}), got ${JSON.stringify(text)}`,
  );
}

/**
 * The message for a mistake `node:util`'s `parseArgs` reported, in the command line's
 * words: `unknown option "--bogus"`, `--duration needs a value: a number of seconds from 1
 * to 3600`. Other errors keep their message.
 */
export function argsMistake(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const option = /'(?:-\w, )?(-{1,2}[^' <,]+)/.exec(message ?? '')?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined) {
    return `unknown option ${JSON.stringify(option)}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option !== undefined) {
    const flag = [DURATION_FLAG, RATE_FLAG].find((f) => f.name === option);
    if (flag !== undefined) {
      return `${flag.name} needs a value: a number of ${flag.unit} from ${flag.min} to ${flag.max}`;
    }
    if (/argument missing/.test(message ?? '')) return `${option} needs a value`;
    return `${option} takes no value`;
  }
  return String(message ?? error);
}
