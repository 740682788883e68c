// Entry of a forwarding worker thread (docs/adr/0003-packet-plane.md): loads the engine module it
// was given, builds the Linux NetContext over the facts the main thread sent, opens the rings and
// runs the Forwarder until the stop flag is set. Any failure before the loop is reported as 'fatal'.
import { getRandomValues } from 'node:crypto';
import { workerData } from 'node:worker_threads';
import type { RandomSource } from '../../core/random.js';
import { openLibc } from './ffi.js';
import { Forwarder } from './forwarder.js';
import { NeighbourCache } from './neighbour.js';
import { LinuxNetContext } from './net-context.js';
import { BpfFastPath } from './xdp/fast-path.js';
import type { EngineModule, FromWorker, WorkerInit } from './worker-protocol.js';

/** Random numbers from a crypto-seeded pool refilled in blocks (no syscall per draw). */
class PooledRandom implements RandomSource {
  private readonly pool = new Uint32Array(1024);
  private i = 1024;
  nextU32(): number {
    if (this.i === this.pool.length) {
      getRandomValues(this.pool);
      this.i = 0;
    }
    return this.pool[this.i++];
  }
}

async function main(init: WorkerInit): Promise<void> {
  const post = (m: FromWorker) => init.port.postMessage(m);
  try {
    const libc = openLibc();
    const mod = (await import(init.engineModule)) as Partial<EngineModule>;
    if (typeof mod.createEngine !== 'function') throw new Error(`Cannot use engine module ${init.engineModule}: it does not export createEngine`);
    const neighbours = new NeighbourCache(init.neighbourLimits);
    // Coarse time: the forwarder sets it once per ring block and loop turn (never older than the
    // block being processed), so neither the engine nor a neighbour miss reads the clock per packet.
    const time = { ms: performance.now() };
    const net = new LinuxNetContext(init.facts, neighbours, (a, i, key) => { neighbours.request(a, i, time.ms, key); });
    const engine = await mod.createEngine({
      net,
      clock: { nowMs: () => time.ms },
      random: new PooledRandom(),
      ops: init.ops,
      sysctls: init.sysctls,
      worker: { index: init.index, count: init.count },
      options: init.engineOptions,
    });
    let fast: BpfFastPath | undefined;
    let fwd: Forwarder;
    try {
      if (init.offload) {
        fast = BpfFastPath.open({ maxFlows: init.offload.maxFlows, mode: init.offload.mode });
        for (const c of init.interfaces) fast.attach(c.ifIndex);
      }
      fwd = new Forwarder(libc, init, engine, net, neighbours, post, time, fast);
    } catch (e) {
      fast?.close(); // the links are the process's: they would outlive this worker
      throw e;
    }
    post({ type: 'ready', index: init.index, eventFd: fwd.wakeFd });
    fwd.run();
  } catch (e) {
    post({ type: 'fatal', index: init.index, message: (e as Error).stack ?? String(e) });
  } finally {
    init.port.close();
  }
}

void main(workerData as WorkerInit);
