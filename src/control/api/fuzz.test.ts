// A small, seeded fuzz of what the API reads from the network: the identifier parsers, the JSON
// body parser, body validation and the whole POST path over HTTP. Properties: nothing but a 4xx
// HttpError ever comes out, parsed ids round-trip canonically, and a refused request changes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { desiredFromBody, realServerPatchSchema, serviceBodySchema } from './bodies.js';
import { formatRealServerId, formatServiceId, parseRealServerId, parseServiceId } from './ids.js';
import { HttpError, parseJsonText, validate } from './json.js';
import { type TestServer, startTestServer, tableFingerprint } from './testing.js';

/** mulberry32: a small deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(r: () => number, s: string, alphabet: string): string {
  let out = s;
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (out.length + 1));
    const ch = alphabet[Math.floor(r() * alphabet.length)];
    const kind = Math.floor(r() * 3);
    out = kind === 0 ? out.slice(0, at) + ch + out.slice(at) : kind === 1 ? out.slice(0, at) + out.slice(at + 1) : out.slice(0, at) + ch + out.slice(at + 1);
  }
  return out;
}

const ID_ALPHABET = 'tcpudsfwm6:[]0123456789abcdefABCDEF.%-x /\u00e9';
const VALID_IDS = ['tcp:10.0.0.1:80', 'udp:[2001:db8::1]:53', 'sctp:192.0.2.1:5060', 'fwm:7', 'fwm6:4294967295', 'tcp:[::ffff:10.0.0.1]:0'];
const VALID_RS = ['10.0.0.2:80', '[2001:db8::2]:80', '[::]:0', '255.255.255.255:65535'];

function noThrowButHttp(fn: () => unknown, what: string): unknown {
  try {
    return fn();
  } catch (e) {
    assert.ok(e instanceof HttpError, `${what}: threw ${String(e)}`);
    assert.ok(e.status >= 400 && e.status < 500, `${what}: status ${e.status}`);
    return undefined;
  }
}

describe('fuzz', () => {
  test('service and real server id parsers never throw and round-trip canonically', () => {
    const r = rng(1);
    let parsed = 0;
    for (let i = 0; i < 5000; i++) {
      const base = r() < 0.5 ? VALID_IDS[i % VALID_IDS.length] : VALID_RS[i % VALID_RS.length];
      const text = r() < 0.2 ? Array.from({ length: Math.floor(r() * 30) }, () => ID_ALPHABET[Math.floor(r() * ID_ALPHABET.length)]).join('') : mutate(r, base, ID_ALPHABET);
      const key = parseServiceId(text);
      if (key) {
        parsed++;
        const canon = formatServiceId(key);
        assert.equal(formatServiceId(parseServiceId(canon)!), canon, text);
      }
      const rs = parseRealServerId(text);
      if (rs) {
        const canon = formatRealServerId(rs);
        assert.equal(formatRealServerId(parseRealServerId(canon)!), canon, text);
        assert.ok(rs.port >= 0 && rs.port <= 65535);
      }
    }
    assert.ok(parsed > 50, `the fuzz should also produce valid ids (${parsed})`);
    for (const id of VALID_IDS) assert.ok(parseServiceId(id), id);
  });

  test('the JSON body parser answers a value or a 400, never anything else', () => {
    const r = rng(2);
    const base = Buffer.from(JSON.stringify({ address: '10.0.0.1', port: 80, realServers: [{ address: '10.0.0.2', weight: 3 }], persistence: { timeout: 60 } }));
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(base.subarray(0, r() < 0.2 ? Math.floor(r() * base.length) : base.length));
      for (let k = 0; k < 1 + Math.floor(r() * 4); k++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      noThrowButHttp(() => parseJsonText(b), `bytes ${b.toString('hex')}`);
    }
  });

  test('validation and conversion of random bodies only ever throw 4xx HttpErrors', () => {
    const r = rng(3);
    const keys = ['protocol', 'address', 'port', 'fwmark', 'family', 'scheduler', 'schedFlags', 'persistence', 'ops', 'pe', 'forwarding', 'tunnel', 'realServers', 'weight', 'timeout', 'netmask', 'type', 'csum', '__proto__', 'constructor'];
    const scalars: unknown[] = [null, true, false, 0, -1, 1.5, 80, 65535, 65536, 4294967296, 'tcp', 'udp', '10.0.0.1', '2001:db8::1', 'ipv6', 'gue', 'rr', 'sh', 'sh-port', '', 'x'.repeat(100), 1e308, -0];
    const value = (depth: number): unknown => {
      const p = r();
      if (depth > 3 || p < 0.5) return scalars[Math.floor(r() * scalars.length)];
      if (p < 0.7) return Array.from({ length: Math.floor(r() * 3) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(r() * 5) }, () => [keys[Math.floor(r() * keys.length)], value(depth + 1)]));
    };
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const body = r() < 0.5
        ? { address: '10.0.0.1', port: 80, [keys[Math.floor(r() * 12)]]: value(1), realServers: [{ address: '10.0.0.2', [keys[Math.floor(r() * keys.length)]]: value(2) }] }
        : value(0);
      const out = noThrowButHttp(() => desiredFromBody(validate(serviceBodySchema, body)), JSON.stringify(body));
      if (out) accepted++;
      noThrowButHttp(() => validate(realServerPatchSchema, body), JSON.stringify(body));
    }
    assert.ok(accepted > 0, 'some random bodies should be valid');
  });

  describe('over HTTP', () => {
    let s: TestServer;
    before(async () => { s = await startTestServer(); });
    after(() => s.close());

    test('mutated POST bodies get 201 or a 4xx JSON error, never 500, and refusals change nothing', async () => {
      const r = rng(4);
      const base = JSON.stringify({ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr', realServers: [{ address: '10.0.0.2', weight: 3, forwarding: 'masq', port: 8080 }] });
      const seen = new Set<number>();
      for (let i = 0; i < 300; i++) {
        const text = mutate(r, base, '{}[]",:0123456789.-abcdefghijklmnopqrstuvwxyz \\\u0000\u00ff');
        const before = tableFingerprint(s.director);
        const res = await s.req('POST', '/v1/services', { raw: text, headers: { 'content-type': 'application/json' } });
        seen.add(res.status);
        assert.ok([201, 400, 409].includes(res.status), `${res.status} for ${text}: ${res.text}`);
        if (res.status !== 201) {
          assert.equal(typeof res.json?.error?.message, 'string', res.text);
          assert.equal(tableFingerprint(s.director), before, text);
        }
      }
      assert.ok(seen.has(400), 'some mutations are invalid');
      assert.equal((await s.req('GET', '/v1/services')).status, 200);
    });

    test('mutated path ids get 200/404 or a 400 naming svc or rs, never 500', async () => {
      const r = rng(5);
      await s.req('POST', '/v1/services', { body: { protocol: 'udp', address: '2001:db8::1', port: 53, realServers: [{ address: '2001:db8::2' }] } });
      for (let i = 0; i < 300; i++) {
        const svc = mutate(r, 'udp:[2001:db8::1]:53', ID_ALPHABET);
        const rs = mutate(r, '[2001:db8::2]:53', ID_ALPHABET);
        const res = await s.req('GET', `/v1/services/${encodeURIComponent(svc)}/realservers/${encodeURIComponent(rs)}`);
        assert.ok([200, 400, 404].includes(res.status), `${res.status} for ${svc} ${rs}`);
        if (res.status === 400) assert.ok(['svc', 'rs'].includes(res.json.error.field), res.text);
      }
    });
  });
});
