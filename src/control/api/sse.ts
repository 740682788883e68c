// GET /v1/events: DirectorEvents as Server-Sent Events. Each client subscribes to the director on
// connect and unsubscribes when it goes away; a comment line every keepAliveMs keeps proxies from
// closing an idle stream. A client that stops reading is dropped rather than buffered forever.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DirectorApi, DirectorEvent } from '../director-api.js';
import { HttpError } from './json.js';

/** Bytes a slow client may have pending before it is disconnected. */
const MAX_PENDING_BYTES = 1024 * 1024;

export interface EventHubOptions {
  /** Interval of the keep-alive comments (default 15 s). */
  readonly keepAliveMs?: number;
  /** Most concurrent streams (default 64); more get 503. */
  readonly maxClients?: number;
}

/** The open event streams of one server. */
export class EventHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly closers = new Map<ServerResponse, () => void>();
  private nextId = 1;
  private readonly keepAliveMs: number;
  private readonly maxClients: number;

  constructor(private readonly api: DirectorApi, opts: EventHubOptions = {}) {
    this.keepAliveMs = opts.keepAliveMs ?? 15_000;
    this.maxClients = opts.maxClients ?? 64;
  }

  /** Open streams. */
  get size(): number {
    return this.clients.size;
  }

  /** Starts streaming events to `res` until the client disconnects or close() is called. */
  attach(_req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= this.maxClients) {
      throw new HttpError('unavailable', `Too many event streams open (${this.maxClients})`, null, { headers: { 'retry-after': '10' } });
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
      // nginx and friends: do not buffer the stream.
      'x-accel-buffering': 'no',
    });
    res.write('retry: 3000\n: connected\n\n');
    const send = (text: string) => {
      if (res.writableLength > MAX_PENDING_BYTES) { cleanup(); res.destroy(); return; }
      res.write(text);
    };
    const unsubscribe = this.api.onEvent((e: DirectorEvent) => {
      send(`id: ${this.nextId++}\nevent: ${e.kind}\ndata: ${JSON.stringify(e)}\n\n`);
    });
    const timer = setInterval(() => send(': keep-alive\n\n'), this.keepAliveMs);
    timer.unref();
    let done = false;
    const cleanup = () => {
      if (done) return;
      done = true;
      clearInterval(timer);
      unsubscribe();
      this.clients.delete(res);
      this.closers.delete(res);
    };
    this.clients.add(res);
    this.closers.set(res, () => { cleanup(); res.end(); });
    // res 'close' fires when the connection goes away (req 'close' fires once the request is read).
    res.on('close', cleanup);
    res.on('error', cleanup);
  }

  /** Ends every stream (server shutdown). */
  close(): void {
    for (const close of [...this.closers.values()]) close();
  }
}
