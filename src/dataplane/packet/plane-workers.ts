// The packet plane's forwarding worker threads (docs/adr/0003-packet-plane.md): each is started
// and awaited until its rings have joined their fanout groups, and all are stopped together. What
// a worker says after it is ready goes to the plane; a worker that dies after that is reported
// once, so the plane can restart the set. Requests to every worker wait here for all answers.
import { fileURLToPath } from 'node:url';
import { type MessagePort, Worker } from 'node:worker_threads';
import type { Libc } from './ffi.js';
import { CTL_STOP, type FromWorker, type WorkerInit, type WorkerSnapshot } from './worker-protocol.js';

/** One running worker as the plane holds it. */
export interface WorkerHandle {
  readonly index: number;
  readonly worker: Worker;
  readonly port: MessagePort;
  eventFd: number;
  last?: WorkerSnapshot;
  stopped?: WorkerSnapshot;
  alive: boolean;
  /** Set when the plane stops it: its exit is then no failure. */
  stopping?: boolean;
}

/** Where a worker's messages and its death after start go. */
export interface WorkerEvents {
  message(h: WorkerHandle, m: FromWorker): void;
  /** The worker failed after it was ready (a fatal error, a thread error, an exit not asked for). */
  failed(h: WorkerHandle, message: string): void;
}

/**
 * Starts the worker `init` describes (its port is `init.port`'s other end, `port`); resolves once
 * it is ready, rejects if it fails or exits before.
 */
export function startWorker(init: WorkerInit, port: MessagePort, events: WorkerEvents): Promise<WorkerHandle> {
  const worker = new Worker(fileURLToPath(new URL('./worker.js', import.meta.url)), {
    workerData: init, transferList: [init.port],
  });
  const h: WorkerHandle = { index: init.index, worker, port, eventFd: -1, alive: true };
  let ready = false;
  const died = (message: string) => {
    if (!h.alive) return;
    h.alive = false;
    h.eventFd = -1; // the worker closed it (or its thread is gone): never write to the number again
    if (ready && !h.stopping) events.failed(h, message);
  };
  return new Promise<WorkerHandle>((resolve, reject) => {
    port.on('message', (m: FromWorker) => {
      if (m.type === 'ready') {
        h.eventFd = m.eventFd;
        ready = true;
        resolve(h);
      } else if (m.type === 'fatal') {
        reject(new Error(`Packet plane worker ${m.index} failed: ${m.message}`));
        died(m.message);
      }
      events.message(h, m);
    });
    worker.on('error', (e) => {
      reject(e);
      died(e.message);
    });
    worker.on('exit', (code) => {
      reject(new Error(`Packet plane worker ${init.index} exited before it was ready`));
      died(`exited (code ${code})`);
    });
  });
}

const WAKE = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);

/** Wakes a worker blocked in poll() (its eventfd), so it reads its mail or the stop flag now. */
export function wakeWorker(libc: Libc | undefined, h: WorkerHandle): void {
  if (h.eventFd >= 0) libc?.write(h.eventFd, WAKE, 8);
}

/** Sets the stop flag, wakes every worker and waits for each to exit (terminated after 2 s). */
export async function stopWorkers(handles: readonly WorkerHandle[], ctl: Int32Array | undefined, libc: Libc | undefined): Promise<void> {
  if (ctl) Atomics.store(ctl, CTL_STOP, 1);
  for (const w of handles) w.stopping = true;
  await Promise.all(handles.map((w) => new Promise<void>((resolve) => {
    wakeWorker(libc, w);
    const t = setTimeout(() => void w.worker.terminate().then(() => resolve()), 2000);
    w.worker.once('exit', () => { clearTimeout(t); resolve(); });
    if (w.worker.threadId < 0) resolve();
  })));
  for (const w of handles) w.port.close();
}

interface Pending {
  resolve: (v: unknown[]) => void;
  reject: (e: Error) => void;
  left: number;
  results: unknown[];
}

/** Requests sent to several workers, each answered once per worker (by sequence number). */
export class PendingRequests {
  private readonly pending = new Map<number, Pending>();
  private seq = 0;

  /** Sends with `send(seq)` and resolves with the `answers` answers (rejects after 5 s). */
  request<T>(answers: number, send: (seq: number) => void): Promise<T[]> {
    const seq = ++this.seq;
    return new Promise<T[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error('Packet plane request timed out after 5 s'));
      }, 5000);
      this.pending.set(seq, {
        resolve: (v) => { clearTimeout(timer); resolve(v as T[]); },
        reject: (e) => { clearTimeout(timer); reject(e); },
        left: answers, results: [],
      });
      send(seq);
    });
  }

  /** One worker's answer to request `seq`. */
  settle(seq: number, v: unknown): void {
    const p = this.pending.get(seq);
    if (!p) return;
    p.results.push(v);
    if (--p.left === 0) {
      this.pending.delete(seq);
      p.resolve(p.results);
    }
  }

  /** Rejects every request still waiting. */
  failAll(why: string): void {
    for (const [seq, p] of this.pending) {
      this.pending.delete(seq);
      p.reject(new Error(`Packet plane request failed: ${why}`));
    }
  }
}
