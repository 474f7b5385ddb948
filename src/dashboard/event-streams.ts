import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DashboardStateEvent } from './snapshot.js';

/** One open `/api/events` response. */
interface Client {
  readonly res: ServerResponse;
  /** The last state event sent to it. */
  lastSeq: number;
  /** A write returned false: nothing more until the socket drains. */
  blocked: boolean;
}

/** What the streams need from the dashboard. @internal */
export interface StreamSource {
  /** The current snapshot as JSON text (built at most once per tick, shared by every stream). */
  snapshotJson(): string;
  readonly snapshotIntervalMs: number;
  readonly heartbeatMs: number;
  readonly maxEventStreams: number;
  readonly history: number;
}

/**
 * The dashboard's server-sent event streams. One timer, running only while a stream is
 * open, takes one snapshot per interval and writes the same text to every stream. State
 * changes go out as they happen and are kept (the last `history`) for streams that connect
 * or reconnect (`Last-Event-ID`). A slow client is never buffered for: while its socket
 * has not drained it misses snapshot ticks, and the state events it missed are sent when
 * it has (those still kept).
 * @internal
 */
export class EventStreams {
  readonly #source: StreamSource;
  readonly #clients = new Set<Client>();
  readonly #log: DashboardStateEvent[] = [];
  #seq = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(source: StreamSource) {
    this.#source = source;
  }

  /** Open streams. */
  get size(): number {
    return this.#clients.size;
  }

  /** Records a state change and sends it to every stream that can take it now. */
  state(event: Omit<DashboardStateEvent, 'seq'>): void {
    const entry: DashboardStateEvent = { seq: ++this.#seq, ...event };
    this.#log.push(entry);
    if (this.#log.length > this.#source.history) this.#log.shift();
    for (const client of this.#clients) if (!client.blocked) this.#sendStates(client);
  }

  /**
   * Answers `GET /api/events`: 503 when too many streams are open, else a stream that starts
   * with the kept state changes (those after `Last-Event-ID` when given) and a snapshot.
   */
  open(req: IncomingMessage, res: ServerResponse): void {
    if (this.#closed || this.#clients.size >= this.#source.maxEventStreams) {
      res.writeHead(503, {
        'content-type': 'text/plain; charset=utf-8',
        'retry-after': '5',
        'cache-control': 'no-store',
      });
      res.end(this.#closed ? 'dashboard closed\n' : 'too many event streams\n');
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    const last = Number(req.headers['last-event-id']);
    const client: Client = {
      res,
      lastSeq: Number.isSafeInteger(last) && last >= 0 && last <= this.#seq ? last : 0,
      blocked: false,
    };
    this.#clients.add(client);
    const forget = (): void => {
      this.#clients.delete(client);
      if (this.#clients.size === 0) this.#stop();
    };
    res.on('close', forget);
    res.on('drain', () => {
      client.blocked = false;
    });
    this.#write(client, `retry: 2000\n\n`);
    this.#sendStates(client);
    this.#write(client, `event: snapshot\ndata: ${this.#source.snapshotJson()}\n\n`);
    this.#start();
  }

  /** Ends every stream and stops the timers. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#stop();
    for (const client of this.#clients) client.res.end();
    this.#clients.clear();
  }

  #start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), this.#source.snapshotIntervalMs);
    this.#timer.unref();
    this.#heartbeat = setInterval(() => this.#beat(), this.#source.heartbeatMs);
    this.#heartbeat.unref();
  }

  #stop(): void {
    clearInterval(this.#timer);
    clearInterval(this.#heartbeat);
    this.#timer = undefined;
    this.#heartbeat = undefined;
  }

  #tick(): void {
    let text: string | undefined;
    for (const client of this.#clients) {
      if (client.blocked) continue; // dropped: this tick is not buffered for it
      this.#sendStates(client);
      if (client.blocked) continue;
      text ??= `event: snapshot\ndata: ${this.#source.snapshotJson()}\n\n`;
      this.#write(client, text);
    }
  }

  #beat(): void {
    for (const client of this.#clients) if (!client.blocked) this.#write(client, ': heartbeat\n\n');
  }

  /** Sends the kept state events this client has not had, while it takes them. */
  #sendStates(client: Client): void {
    const log = this.#log;
    if (log.length === 0 || log[log.length - 1]!.seq <= client.lastSeq) return;
    for (const event of log) {
      if (event.seq <= client.lastSeq) continue;
      client.lastSeq = event.seq;
      this.#write(client, `event: state\nid: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`);
      if (client.blocked) return;
    }
  }

  #write(client: Client, text: string): void {
    const res = client.res;
    if (res.destroyed || res.writableEnded) return;
    if (!res.write(text)) client.blocked = true;
    // Compression middleware (Express `compression`) buffers until told to flush.
    (res as { flush?: () => void }).flush?.();
  }
}
