import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRestore, restoreWords } from './restore.js';

describe('ipvsadm -R input (spec §5.1, §5.7)', () => {
  it('splits on blanks, tabs and CRs; drops "ipvsadm" words and # comments', () => {
    assert.deepEqual(restoreWords('ipvsadm -A\t-t 10.0.0.1:80  -s rr\r'), ['-A', '-t', '10.0.0.1:80', '-s', 'rr']);
    assert.deepEqual(restoreWords('-a -t 10.0.0.1:80 -r 10.0.0.2 # web 1'), ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2']);
    assert.deepEqual(restoreWords('# -A -t 10.0.0.1:80'), []);
  });
  it('returns one entry per command line with its 1-based line number', () => {
    const text = '# saved by ipvsadm-save\n\nipvsadm -A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 2\n   \n-A -u 10.0.0.1:53\n';
    const entries = parseRestore(text);
    assert.deepEqual(entries.map((e) => [e.line, e.result.ok && e.result.command.kind]), [[3, 'add-service'], [4, 'add-server'], [6, 'add-service']]);
  });
  it('a bad line carries the usage error ipvsadm would print; a nested -R is tryhelp', () => {
    const entries = parseRestore('-A -t 10.0.0.1:80 -s rr -s wlc\n-R\n-L --bogus');
    assert.deepEqual(entries.map((e) => (e.result.ok ? 'ok' : [e.line, e.result.error.kind, e.result.error.message])), [
      [1, 'fail', "multiple 'scheduler' options specified"],
      [2, 'tryhelp', ''],
      [3, 'popt', '--bogus: unknown option'],
    ]);
  });
  it('the -S format round-trips: every saved line parses', () => {
    const saved = '-A -t 192.168.10.100:80 -s wlc\n-a -t 192.168.10.100:80 -r 10.0.0.11:80 -m -w 1\n'
      + '-A -t 192.168.10.100:443 -s rr -p 360 -M 255.255.255.0\n-A -u 192.168.10.100:53 -s sh -b sh-fallback,sh-port\n'
      + '-A -f 7 -s wlc -o\n-a -f 7 -r 10.0.0.14:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum\n-A -f 8 -6 -s rr\n';
    assert.ok(parseRestore(saved).every((e) => e.result.ok));
  });
});
