// Test helper for fast-path.test.ts: run inside the director's network namespace (an XDP link binds
// to an ifindex of the caller's namespace), it drives one BpfFastPath from a worker thread — where
// the packet plane's forwarder uses it — over JSON lines: {id, op, args} in, {id, ok, result|error} out.
// stdin closing closes the fast path (detaching it) and ends the process.
import { createInterface } from 'node:readline';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import type { FlowKey } from '../offload.js';
import { type FastPathMode, BpfFastPath } from './fast-path.js';

interface Req { id: number; op: string; args: unknown[] }

if (isMainThread) {
  const worker = new Worker(new URL(import.meta.url));
  worker.on('message', (line: string) => process.stdout.write(line + '\n'));
  worker.on('error', (e) => {
    process.stderr.write(`worker failed: ${e.stack ?? e.message}\n`);
    process.exit(1);
  });
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => worker.postMessage(line));
  rl.on('close', () => {
    worker.postMessage(JSON.stringify({ id: 0, op: 'close', args: [] }));
    worker.once('message', () => void worker.terminate().then(() => process.exit(0)));
  });
} else {
  let fp: BpfFastPath | undefined;
  const out = { packets: 0, bytes: 0 };
  const mac = (s: string) => Uint8Array.from(s.split(':').map((h) => parseInt(h, 16)));
  const ops: Record<string, (...a: never[]) => unknown> = {
    open: (maxFlows: number, mode: FastPathMode) => {
      fp = BpfFastPath.open({ maxFlows, mode });
      return { insnCount: fp.insnCount, verifierStats: fp.verifierStats };
    },
    attach: (ifIndex: number) => fp!.attach(ifIndex),
    insert: (k: FlowKey, ifIndex: number, dst: string, src: string, mtu: number, toPeer?: boolean) => fp!.insert(k, ifIndex, mac(dst), mac(src), mtu, toPeer),
    remove: (k: FlowKey) => fp!.remove(k),
    read: (k: FlowKey) => (fp!.read(k, out) ? { ...out } : null),
    count: () => fp!.count(),
    close: () => fp?.close(),
  };
  parentPort!.on('message', (line: string) => {
    const { id, op, args } = JSON.parse(line) as Req;
    try {
      const fn = ops[op];
      if (!fn) throw new Error(`unknown op ${op}`);
      const result = (fn as (...a: unknown[]) => unknown)(...args);
      parentPort!.postMessage(JSON.stringify({ id, ok: true, result: result ?? null }));
    } catch (e) {
      parentPort!.postMessage(JSON.stringify({ id, ok: false, error: (e as Error).message }));
    }
  });
}
