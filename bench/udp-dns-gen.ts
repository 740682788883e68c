// DNS load from fresh source ports, as a resolver with port randomisation sends it: CONC
// concurrent clients, each sending one A query from a new socket, waiting for the answer (1 s at
// most), closing it and starting over, for SECONDS. Prints answered queries per second, lost
// queries and latency percentiles (every 8th answer). Used by bench/udp-dns.sh.
//   node dist/bench/udp-dns-gen.js HOST PORT [CONC=32] [SECONDS=20]
import dgram from 'node:dgram';

const [host, portText, concText = '32', secondsText = '20'] = process.argv.slice(2);
const port = Number(portText), conc = Number(concText), seconds = Number(secondsText);
if (!host || !(port > 0 && port < 65536) || !(conc >= 1) || !(seconds > 0)) {
  process.stderr.write('usage: udp-dns-gen.js HOST PORT [CONC=32] [SECONDS=20]\n');
  process.exit(2);
}
// An A query for who.test (id 1, recursion desired).
const query = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 119, 104, 111, 4, 116, 101, 115, 116, 0, 0, 1, 0, 1]);
let answered = 0, lost = 0;
/** Why queries were lost: 'timeout' or the socket error's code. */
const lostBy = new Map<string, number>();
const latencyMs: number[] = [];
const start = Date.now(), end = start + seconds * 1000;

function client(): void {
  if (Date.now() >= end) return;
  const s = dgram.createSocket('udp4');
  const sent = process.hrtime.bigint();
  let done = false;
  // Every end of a query (answer, 1 s timeout, socket error such as EMFILE) starts the next one, once.
  const next = (answered: boolean, why = 'timeout') => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (!answered) {
      lost++;
      lostBy.set(why, (lostBy.get(why) ?? 0) + 1);
    }
    s.close();
    client();
  };
  const timer = setTimeout(() => next(false), 1000);
  s.on('error', (e: NodeJS.ErrnoException) => next(false, e.code ?? 'error'));
  s.on('message', () => {
    if (done) return;
    if ((++answered & 7) === 0) latencyMs.push(Number(process.hrtime.bigint() - sent) / 1e6);
    next(true);
  });
  s.send(query, port, host);
}

for (let i = 0; i < conc; i++) client();
setTimeout(() => {
  latencyMs.sort((a, b) => a - b);
  const pct = (q: number) => (latencyMs[Math.min(latencyMs.length - 1, Math.floor(latencyMs.length * q))] ?? NaN).toFixed(2);
  process.stdout.write(`qps=${Math.round(answered / seconds)} answered=${answered} lost=${lost}${lost ? ` (${[...lostBy].map(([k, v]) => `${k} ${v}`).join(', ')})` : ''} p50=${pct(0.5)}ms p99=${pct(0.99)}ms p99.9=${pct(0.999)}ms\n`);
  process.exit(0);
}, seconds * 1000 + 1100);
