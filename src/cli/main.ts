import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runDemo } from './demo.js';
import {
  argsMistake,
  type DemoOutput,
  DURATION_FLAG,
  RATE_FLAG,
  readDemoFlag,
} from './demo-options.js';

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
 * @returns the exit code: 0 when done, 2 for a usage mistake, 130 when stopped by `signal`.
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
  if (command !== 'demo') return fail(`unknown command ${JSON.stringify(command)}`);
  if (extra.length > 0) return fail(`unexpected argument ${JSON.stringify(extra[0])}`);

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

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      duration: { type: 'string' },
      rate: { type: 'string' },
      open: { type: 'boolean' },
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
