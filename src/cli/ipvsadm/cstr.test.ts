import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIp } from '../../core/net/addr.js';
import { atoi, inetAton, inetNtop, stringToNumber } from './cstr.js';
import { largenum } from './names.js';

const dotted = (s: string) => {
  const a = inetAton(s);
  return a ? [...a.bytes].join('.') : undefined;
};

describe('C library behaviour ipvsadm depends on', () => {
  it('inet_aton accepts 1-4 parts, octal, hex, trailing blank', () => {
    assert.deepEqual(
      ['10.0.0.1', '10.1', '10.1.2', '167772161', '012.0.0.1', '0x0A.0.0.1', '0', '1.2.3.4 junk', '255.255.255.255'].map(dotted),
      ['10.0.0.1', '10.0.0.1', '10.1.0.2', '10.0.0.1', '10.0.0.1', '10.0.0.1', '0.0.0.0', '1.2.3.4', '255.255.255.255'],
    );
  });
  it('inet_aton refuses out-of-range parts, 8/9 in octal, stray characters', () => {
    assert.deepEqual(['256.0.0.1', '10.0.0.256', '10.16777216', '08.1.1.1', '1.2.3.4.5', 'a.b.c.d', '', '1.2.3.4x', '4294967296'].map(dotted),
      [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined]);
  });
  it('string_to_number: whole string, strtol leniency (sign, leading blanks), range', () => {
    assert.deepEqual([stringToNumber('42', 0, 100), stringToNumber(' +42', 0, 100), stringToNumber('42 ', 0, 100), stringToNumber('', 0, 1),
      stringToNumber('101', 0, 100), stringToNumber('-0', 0, 1), stringToNumber('99999999999999999999', 0, 1)], [42, 42, -1, -1, -1, 0, -1]);
  });
  it('atoi takes the leading number', () => {
    assert.deepEqual([atoi('64'), atoi('64abc'), atoi('abc'), atoi(' -3')], [64, 64, 0, -3]);
  });
  it('glibc inet_ntop for IPv6: longest zero run, no single-group ::, embedded IPv4 forms', () => {
    const n = (s: string) => inetNtop(parseIp(s)!);
    assert.deepEqual(
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1', '::1', '::', '1::', '2001:db8:0:1:1:1:1:1', '::ffff:10.0.0.1', '::10.0.0.1', '::a:0:0:1', 'FE80::1'].map(n),
      ['2001:db8::1:0:0:1', '2001:db8::1', '::1', '::', '1::', '2001:db8:0:1:1:1:1:1', '::ffff:10.0.0.1', '::10.0.0.1', '::a:0:0:1', 'fe80::1'],
    );
  });
  it('print_largenum thresholds and suffixes (spec §5.4)', () => {
    assert.deepEqual(
      [0, 99999999, 100000000, 999999999, 1000000000, 99999999999, 100000000000, 99999999999999, 100000000000000].map((v) => largenum(v, false)),
      ['        0', ' 99999999', '  100000K', '  999999K', '    1000M', '   99999M', '     100G', '   99999G', '     100T'],
    );
  });
  it('print_largenum --exact: width max(9, digits+1)', () => {
    assert.deepEqual([5, 12345678, 123456789, 100000000000000].map((v) => largenum(v, true)),
      ['        5', ' 12345678', ' 123456789', ' 100000000000000']);
  });
});
