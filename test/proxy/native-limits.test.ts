// The native TCP path when the process runs out of descriptors (docs/adr/0004-native-tcp-io.md):
// accept4 fails with EMFILE while the listening socket stays readable. A level-triggered loop
// that simply returned would spin at 100 % CPU; the listener must pause accepting, then resume
// once descriptors are free. The plane runs in a child process whose descriptor limit `prlimit` lowers once it serves.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type DemoBackend, startDemoBackend } from '../../src/dataplane/proxy/demo.js';
import { type PlaneChild, TCP_IO_PATHS, backendOf, curl, freePort, nativePlaneChild, spawnPlaneChild } from './helpers.js';

const VIP = '127.0.4.1';

// The child: a plane with one service on native sockets; answers 'stats' on stdin with its counters.
const CHILD = nativePlaneChild(`
import { createInterface } from 'node:readline';
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
createInterface({ input: process.stdin }).on('line', (l) => {
  if (l === 'stats') console.log(JSON.stringify({ ...plane.counters().tcp, cpuMs: cpu(), state: st[0].state }));
});
console.log(JSON.stringify({ ready: st[0].state, io: plane.tcpIo }));
`);

function hasPrlimit(): boolean {
  try { execFileSync('prlimit', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; }
}

describe('native TCP path out of descriptors', { skip: !TCP_IO_PATHS.includes('native') || !hasPrlimit() }, () => {
  let backend: DemoBackend;
  let pc: PlaneChild | undefined;
  before(async () => { backend = await startDemoBackend('a', '127.0.4.11'); });
  after(async () => {
    pc?.dispose();
    await backend.close();
  });

  it('pauses accepting on EMFILE instead of spinning, and serves again once descriptors are free', async () => {
    const port = await freePort(VIP);
    pc = spawnPlaneChild(CHILD, [`${VIP}:${port}`, `${backend.host}:${backend.port}`]);
    const { child, next } = pc;
    const stats = async () => { child.stdin!.write('stats\n'); return next('its counters'); };
    assert.deepEqual(await next('ready'), { ready: 'listening', io: 'native' });
    // 40 descriptors once it serves: Node and koffi hold about 25, so a handful of sessions exhaust
    // the rest. Lowered now, not at exec: the module loader opens files in parallel while it starts.
    execFileSync('prlimit', ['--pid', String(child.pid), '--nofile=40:40']);

    const held: net.Socket[] = [];
    try {
      // Idle connections: the kernel completes them (backlog) whether or not the child accepts.
      for (let i = 0; i < 30; i++) {
        held.push(await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect({ host: VIP, port }, () => resolve(s));
          s.on('error', reject);
        }));
      }
      let s = await stats();
      for (let i = 0; i < 50 && !((s.acceptPaused as number) >= 1); i++) { await new Promise((r) => setTimeout(r, 50)); s = await stats(); }
      assert.ok((s.acceptPaused as number) >= 1, `accepting paused on EMFILE: ${JSON.stringify(s)}`);
      // Out of descriptors for a second: a spinning loop would burn about a second of CPU here.
      const cpu0 = s.cpuMs as number;
      await new Promise((r) => setTimeout(r, 1000));
      const s2 = await stats();
      assert.ok((s2.cpuMs as number) - cpu0 < 400, `CPU while out of descriptors: ${(s2.cpuMs as number) - cpu0} ms in 1 s`);
    } finally {
      for (const h of held) h.destroy();
    }
    // Descriptors come back as the held connections end: the service answers again.
    let body = '';
    for (let i = 0; i < 30 && !body; i++) {
      try { body = await curl(['-H', 'Connection: close', `http://${VIP}:${port}/`], 2000); } catch { await new Promise((r) => setTimeout(r, 100)); }
    }
    assert.equal(backendOf(body), 'a');
  });
});
