import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SVC_F_SCHED3 } from '../../core/service/types.js';
import { formatList } from './format-list.js';
import { formatSave } from './save.js';
import { listServiceOrder } from './sort.js';
import { tableFromRules } from './testing.js';

const vips = (rules: string, nosort = false) =>
  listServiceOrder(tableFromRules(rules).services(), nosort).map((s) => (s.key.kind === 'addr' ? [...s.key.addr.bytes].join('.') : 'fwm'));

describe('ipvsadm sort order (spec §5.2 "Sorting")', () => {
  // ntohl differences read as int: 10 vs 200 → 0x42000000 > 0 (10 after 200); 200 vs 100 → 0x64000000 > 0
  // (200 after 100); 10 vs 100 → negative (10 before 100): a cycle, so glibc's merge sort decides.
  it('a cyclic triple added as 10, 200, 100 sorts 10, 100, 200 (merge of [10] with sorted [100, 200])', () => {
    assert.deepEqual(vips('-A -t 10.0.0.1:80\n-A -t 200.0.0.1:80\n-A -t 100.0.0.1:80\n'), ['10.0.0.1', '100.0.0.1', '200.0.0.1']);
  });
  it('the same triple added as 200, 100, 10 sorts 200, 10, 100 (200 wins against 10 first)', () => {
    assert.deepEqual(vips('-A -t 200.0.0.1:80\n-A -t 100.0.0.1:80\n-A -t 10.0.0.1:80\n'), ['200.0.0.1', '10.0.0.1', '100.0.0.1']);
  });
  it('--nosort: address services as added, then fwmark services', () => {
    assert.deepEqual(vips('-A -f 1\n-A -t 200.0.0.1:80\n-A -t 10.0.0.1:80\n', true), ['200.0.0.1', '10.0.0.1', 'fwm']);
  });
});

describe('scheduler flags the scheduler has no name for', () => {
  const table = tableFromRules('-A -t 10.0.0.1:80 -s sh\n');
  table.services()[0].flags |= SVC_F_SCHED3;
  it('listing prints " ()" and -S prints " -b " as ipvsadm does (sh names only SCHED1/SCHED2)', () => {
    const f = { numeric: true, exact: false, nosort: false, stats: false, rate: false, thresholds: false, persistentConn: false, tunInfo: false };
    assert.equal(formatList(table.services(), f).split('\n')[3], 'TCP  10.0.0.1:80 sh ()');
    assert.equal(formatSave(table.services(), { numeric: true }), '-A -t 10.0.0.1:80 -s sh -b \n');
  });
});
