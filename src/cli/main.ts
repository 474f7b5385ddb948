import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { runCheck } from './check-command.js';
import { runDemo } from './demo.js';
import {
  argsMistake,
  type DemoOutput,
  DURATION_FLAG,
  RATE_FLAG,
  readDemoFlag,
} from './demo-options.js';
import { DEFAULT_DRAIN_MS, runServe } from './serve/serve-command.js';

/** Where the command line reads its environment from; the defaults are the process's. */
export interface CliIo {
  /** Normal output. @default process.stdout */
  readonly stdout?: DemoOutput;
  /** Errors and usage after a mistake. @default process.stderr */
  readonly stderr?: DemoOutput;
  /** Ends a running command early (the bin wires Ctrl-C and SIGTERM to it). */
  readonly signal?: AbortSignal;
  /** What `--open` calls with the dashboard's URL. @default the system's browser opener */
  readonly open?: (url: string) => unknown;
}

/** The usage text printed by `--help` and after a mistake. */
export const USAGE = `Usage: switchyard <command> [options]

Commands:
  serve --config FILE run the load balancer of a config file (JSON or YAML); SIGHUP
                      reloads it, SIGTERM or Ctrl-C drains and stops
      --drain-ms MS   how long a stop lets work in flight finish (default 30000)
      --log-format F  text or json, one line per event on stderr (default text)
      --workers N     processes serving the listeners, or "auto" (the default): one
                      per core; health checks and the dashboard stay in one
  check FILE          validate a config file: every problem as "path: message, got
                      value"; exit code 0 when valid, 1 otherwise
  demo                three local backends of different speed, the load balancer with
                      health checks, the dashboard, and steady traffic; one backend is
                      killed and restored partway so failover shows
      --duration SEC  how long the traffic runs (default 20)
      --rate N        requests per second (default 200)
      --open          open the dashboard in a browser (its URL is printed first)

Options:
  -h, --help          this text
  -v, --version       the version
`;

/**
 * Runs the `switchyard` command line with `argv` (the arguments after the program name).
 * Never throws: mistakes print a message and the usage to `stderr`.
 * @returns the exit code: 0 when done, 2 for a usage mistake, 130 when `demo` is stopped by
 *   `signal`; `check` and `serve` as {@link runCheck} and {@link runServe}.
 * @example
 * ```ts
 * process.exitCode = await main(process.argv.slice(2));
 * ```
 */
export async function main(argv: readonly string[], io: CliIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const fail = (message: string): number => {
    stderr.write(`switchyard: ${message}\n\n${USAGE}`);
    return 2;
  };
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return fail(argsMistake(error));
  }
  const { values, positionals } = parsed;
  if (values.version) {
    stdout.write(`${version()}\n`);
    return 0;
  }
  const [command, ...extra] = positionals;
  if (values.help || command === undefined || command === 'help') {
    (command === undefined && !values.help ? stderr : stdout).write(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (command !== 'demo' && command !== 'serve' && command !== 'check') {
    return fail(`unknown command ${JSON.stringify(command)}`);
  }
  const foreign = Object.keys(values).find(
    (name) => !COMMAND_OPTIONS[command].includes(name) && name !== 'help' && name !== 'version',
  );
  if (foreign !== undefined) return fail(`--${foreign} is not an option of ${command}`);
  if (command === 'check') {
    if (extra.length !== 1) return fail('check takes one FILE');
    return runCheck(extra[0]!, stdout, stderr);
  }
  if (extra.length > 0) return fail(`unexpected argument ${JSON.stringify(extra[0])}`);
  if (command === 'serve') {
    if (values.config === undefined) return fail('serve needs --config FILE');
    const format = values['log-format'] ?? 'text';
    if (format !== 'text' && format !== 'json') {
      return fail(`--log-format must be "text" or "json", got ${JSON.stringify(format)}`);
    }
    const text = values['drain-ms'];
    const drainMs = text === undefined ? DEFAULT_DRAIN_MS : Number(text);
    if (text !== undefined && (!/^\d{1,10}$/.test(text) || drainMs > MAX_DRAIN_MS)) {
      return fail(
        `--drain-ms must be a number of milliseconds from 0 to ${MAX_DRAIN_MS} (like 30000), got ${JSON.stringify(text)}`,
      );
    }
    const workersText = values.workers;
    const workers =
      workersText === undefined || workersText === 'auto'
        ? availableParallelism()
        : Number(workersText);
    if (
      workersText !== undefined &&
      workersText !== 'auto' &&
      (!/^\d{1,4}$/.test(workersText) || workers < 1 || workers > MAX_WORKERS)
    ) {
      return fail(
        `--workers must be a number from 1 to ${MAX_WORKERS} or "auto", got ${JSON.stringify(workersText)}`,
      );
    }
    return runServe({
      config: values.config,
      drainMs,
      workers,
      logFormat: format,
      stderr,
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
  }

  let options: Parameters<typeof runDemo>[0];
  try {
    const seconds = readDemoFlag(DURATION_FLAG, values.duration);
    const rate = readDemoFlag(RATE_FLAG, values.rate);
    options = {
      output: stdout,
      ...(seconds === undefined ? {} : { durationMs: seconds * 1000 }),
      ...(rate === undefined ? {} : { rate }),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
      ...(values.open ? { open: io.open ?? true } : {}),
    };
  } catch (error) {
    return fail((error as Error).message);
  }
  try {
    const summary = await runDemo(options);
    return summary.aborted ? 130 : 0;
  } catch (error) {
    stderr.write(`switchyard demo failed: ${(error as Error)?.stack ?? String(error)}\n`);
    return 1;
  }
}

/** The most `--workers`: far more processes than any machine has cores is a mistake. */
const MAX_WORKERS = 1_024;

/** The longest `--drain-ms`: what a Node timer takes. */
const MAX_DRAIN_MS = 2_147_483_647;

/** The options each command takes (besides --help and --version). */
const COMMAND_OPTIONS: Readonly<Record<'demo' | 'serve' | 'check', readonly string[]>> = {
  demo: ['duration', 'rate', 'open'],
  serve: ['config', 'drain-ms', 'log-format', 'workers'],
  check: [],
};

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      duration: { type: 'string' },
      rate: { type: 'string' },
      open: { type: 'boolean' },
      config: { type: 'string', short: 'c' },
      'drain-ms': { type: 'string' },
      'log-format': { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}

/** The package's version, from the package.json above this file (dist/ or src/cli/). */
function version(): string {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'));
      if (pkg.name === 'switchyard') return String(pkg.version);
    } catch {
      // not there: try one level up
    }
  }
  return 'unknown';
}
