import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError, parseEvents, splitWords } from './events.js';
import { formatEndpoint } from '../../core/net/addr.js';

test('parseEvents reads open, close and rule lines with comments', () => {
  const ev = parseEvents([
    '# warm up',
    '0 open tcp 198.18.0.1:40000 198.18.0.10:80',
    '0.5 open udp [2001:db8::1]:5353 [2001:db8::10]:53   # v6',
    '',
    '1 rule ipvsadm -e -t 198.18.0.10:80 -r 198.18.1.1:80 -w 0',
    '2 close tcp 198.18.0.1:40000 198.18.0.10:80 fwmark=7',
  ].join('\n'), 'ev.txt');
  assert.equal(ev.length, 4);
  assert.equal(ev[0].kind, 'open');
  if (ev[1].kind !== 'open') throw new Error('unreachable');
  assert.equal(formatEndpoint(ev[1].vip.addr, ev[1].vip.port), '[2001:db8::10]:53');
  assert.deepEqual(ev[2].kind === 'rule' && ev[2].argv, ['-e', '-t', '198.18.0.10:80', '-r', '198.18.1.1:80', '-w', '0']);
  assert.equal(ev[3].kind === 'close' && ev[3].fwmark, 7);
  assert.equal(ev[3].line, 6);
});

const bad: Array<[string, RegExp]> = [
  ['x open tcp 1.2.3.4:1 5.6.7.8:80', /ev:1: time must be/],
  ['-1 open tcp 1.2.3.4:1 5.6.7.8:80', /time must be/],
  ['1e2 open tcp 1.2.3.4:1 5.6.7.8:80', /time must be/],
  ['0 opne tcp 1.2.3.4:1 5.6.7.8:80', /unknown event 'opne'/],
  ['0 open icmp 1.2.3.4:1 5.6.7.8:80', /protocol must be/],
  ['0 open tcp 1..2.3:1 5.6.7.8:80', /client must be/],
  ['0 open tcp 1.2.3.4:1 5.6.7.8', /virtual address must be/],
  ['0 open tcp 1.2.3.4:70000 5.6.7.8:80', /client must be/],
  ['0 open tcp 1.2.3.4:1 [::1]:80', /same family/],
  ['0 open tcp 1.2.3.4:1 5.6.7.8:80 mark=1', /fwmark=N/],
  ['0 open tcp', /needs/],
  ['0 rule', /needs an ipvsadm command line/],
  ['2 open tcp 1.2.3.4:1 5.6.7.8:80\n1 open tcp 1.2.3.4:2 5.6.7.8:80', /ev:2: time 1 is earlier/],
];
for (const [text, re] of bad) {
  test(`parseEvents rejects ${JSON.stringify(text)} naming file and line`, () => {
    assert.throws(() => parseEvents(text, 'ev'), (e: unknown) => e instanceof InputError && re.test(e.message));
  });
}

test('splitWords handles quotes and rejects unbalanced ones', () => {
  assert.deepEqual(splitWords(`-A -t 'a b' "c"`), ['-A', '-t', 'a b', 'c']);
  assert.equal(splitWords(`-A 'open`), undefined);
});
