/**
 * Resident memory of a process tree, for the proxy benchmark.
 *
 * Summing each process's RSS overstates what several processes hold: every Node process
 * maps the same `node` binary and libraries, and the pages of those it has touched (about
 * 47 MiB for a Node process with `node:http`) are counted once in each process's RSS while
 * they sit in memory once. `serve --workers 2` is three such processes.
 *
 * `treeMemory` reads, for the process and each of its descendants, which physical page
 * backs each resident virtual page (`/proc/PID/pagemap`) and counts each physical page
 * once. For one process that is its RSS; for a tree, the memory the machine would get back
 * if the tree went away. It needs root (without it the kernel hides the page numbers): then
 * `distinct` is undefined and only the summed RSS is known. Linux only.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';

const PAGE = 4096;
const PRESENT = 1n << 63n;
const PFN_MASK = (1n << 55n) - 1n;

export interface TreeMemory {
  /** Every process's RSS added up, first the root then its descendants. */
  readonly perProcess: number[];
  readonly summed: number;
  /** Distinct physical pages resident in the tree, in bytes; undefined without root. */
  readonly distinct: number | undefined;
}

/** The process and every descendant of it, root first (empty if it is gone). */
export function processTree(pid: number, into: number[] = []): number[] {
  try {
    readFileSync(`/proc/${pid}/statm`);
  } catch {
    return into;
  }
  into.push(pid);
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children === '' ? [] : children.split(' ')) {
        processTree(Number(child), into);
      }
    }
  } catch {
    // gone meanwhile
  }
  return into;
}

/** A process's resident set size in bytes (0 when it is gone). */
export function residentBytes(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE;
  } catch {
    return 0;
  }
}

/** Adds the physical page numbers resident in `pid` to `frames`; false if the kernel hides them. */
function addFrames(pid: number, frames: Set<bigint>): boolean {
  let fd: number;
  let maps: string;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    fd = openSync(`/proc/${pid}/pagemap`, 'r');
  } catch {
    return true; // gone: nothing resident
  }
  let visible = true;
  try {
    let buffer = Buffer.alloc(8 * 1024);
    for (const line of maps.split('\n')) {
      const dash = line.indexOf('-');
      const space = line.indexOf(' ');
      if (dash < 0 || space < 0) continue;
      const start = BigInt(`0x${line.slice(0, dash)}`) / BigInt(PAGE);
      const end = BigInt(`0x${line.slice(dash + 1, space)}`) / BigInt(PAGE);
      if (line.endsWith('[vsyscall]')) continue; // above the kernel's pagemap, not readable
      const bytes = Number(end - start) * 8;
      if (buffer.length < bytes) buffer = Buffer.alloc(bytes);
      let read = 0;
      try {
        while (read < bytes) {
          const n = readSync(fd, buffer, read, bytes - read, Number(start * 8n) + read);
          if (n === 0) break;
          read += n;
        }
      } catch {
        // a mapping that went away meanwhile: what was read counts
      }
      for (let offset = 0; offset + 8 <= read; offset += 8) {
        const entry = buffer.readBigUInt64LE(offset);
        if ((entry & PRESENT) === 0n) continue;
        const frame = entry & PFN_MASK;
        if (frame === 0n) visible = false;
        else frames.add(frame);
      }
    }
  } finally {
    closeSync(fd);
  }
  return visible;
}

/**
 * CPU time (user and system) the process tree rooted at `pid` has used, in seconds, from
 * `/proc/PID/stat` (in clock ticks of 10 ms; read it around a run of seconds). Processes
 * that ended meanwhile are not counted. Linux only; 0 elsewhere.
 */
export function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      // Fields after the command name, which is in parentheses and may hold spaces.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // gone
    }
  }
  return ticks / 100;
}

/** What the process tree rooted at `pid` holds in memory (see the module comment). */
export function treeMemory(pid: number): TreeMemory {
  const pids = processTree(pid);
  const perProcess = pids.map(residentBytes);
  const frames = new Set<bigint>();
  let visible = true;
  for (const p of pids) visible = addFrames(p, frames) && visible;
  return {
    perProcess,
    summed: perProcess.reduce((sum, n) => sum + n, 0),
    distinct: visible ? frames.size * PAGE : undefined,
  };
}
