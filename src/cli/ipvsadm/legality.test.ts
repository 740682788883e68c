// Walks ipvsadm's commands_v_options table cell by cell: every illegal option is refused with
// "Illegal 'X' option with the 'Y' command", every compulsory one is demanded, every optional one
// gets past the table. The oracle below is ipvsadm.c's table transcribed as printed there.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { usageErrorText } from './errors.js';
import { parseArgs } from './parse.js';

// ipvsadm.c commands_v_options (1.30), columns:
// -n -c svc -s -p -M -r fwd -w -x -y -mc tot dmn -st -rt thr -pc srt sid -ex ops -pe -b grp port ttl size tinf type tprt nocs csum remc
const ORACLE: Record<string, string> = {
  'add-service': "'x','x','+',' ',' ',' ','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x',' ',' ',' ','x','x','x','x','x','x','x','x','x','x'",
  'edit-service': "'x','x','+',' ',' ',' ','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x',' ',' ',' ','x','x','x','x','x','x','x','x','x','x'",
  'delete-service': "'x','x','+','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x'",
  'flush': "'x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x'",
  'list': "' ','1','1','x','x','x','x','x','x','x','x','x','1','1',' ',' ',' ',' ',' ',' ',' ','x','x','x','x','x','x','x',' ','x','x','x','x','x'",
  'add-server': "'x','x','+','x','x','x','+',' ',' ',' ',' ','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x',' ',' ',' ',' ',' '",
  'delete-server': "'x','x','+','x','x','x','+','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x'",
  'edit-server': "'x','x','+','x','x','x','+',' ',' ',' ',' ','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x',' ',' ',' ',' ',' '",
  'set': "'x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x'",
  'start-daemon': "'x','x','x','x','x','x','x','x','x','x','x',' ','x','x','x','x','x','x','x',' ','x','x','x','x',' ',' ',' ',' ','x','x','x','x','x','x'",
  'stop-daemon': "'x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x',' ','x','x','x','x','x','x','x','x','x','x','x','x','x','x'",
  'restore': "'x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x'",
  'save': "' ','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x'",
  'zero': "'x','x',' ','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x','x'",
};

// optnames[] of ipvsadm.c with an argv sample that sets exactly that option class.
const OPTS: [string, string[]][] = [
  ['numeric', ['-n']], ['connection', ['-c']], ['service-address', ['-u', '10.0.0.1:53']], ['scheduler', ['-s', 'rr']],
  ['persistent', ['-p', '60']], ['netmask', ['-M', '255.255.255.0']], ['real-server', ['-r', '10.0.0.2']],
  ['forwarding-method', ['-m']], ['weight', ['-w', '2']], ['u-threshold', ['-x', '10']], ['l-threshold', ['-y', '5']],
  ['mcast-interface', ['--mcast-interface', 'eth1']], ['timeout', ['--timeout']], ['daemon', ['--daemon']],
  ['stats', ['--stats']], ['rate', ['--rate']], ['thresholds', ['--thresholds']], ['persistent-conn', ['--persistent-conn']],
  ['nosort', ['--nosort']], ['syncid', ['--syncid', '3']], ['exact', ['--exact']], ['ops', ['-o']], ['pe', ['--pe', 'sip']],
  ['sched-flags', ['-b', 'flag-1']], ['mcast-group', ['--mcast-group', '224.0.0.81']], ['mcast-port', ['--mcast-port', '8848']],
  ['mcast-ttl', ['--mcast-ttl', '2']], ['sync-maxlen', ['--sync-maxlen', '1000']], ['tun-info', ['--tun-info']],
  ['tun-type', ['--tun-type', 'ipip']], ['tun-port', ['--tun-port', '6080']], ['tun-nocsum', ['--tun-nocsum']],
  ['tun-csum', ['--tun-csum']], ['tun-remcsum', ['--tun-remcsum']],
];

const CMD_ARGV: Record<string, string[]> = {
  'add-service': ['-A'], 'edit-service': ['-E'], 'delete-service': ['-D'], 'flush': ['-C'], 'list': ['-L'],
  'add-server': ['-a'], 'delete-server': ['-d'], 'edit-server': ['-e'], 'set': ['--set', '1', '2', '3'],
  'start-daemon': ['--start-daemon', 'master'], 'stop-daemon': ['--stop-daemon', 'master'], 'restore': ['-R'],
  'save': ['-S'], 'zero': ['-Z'],
};

const message = (argv: string[]): string | undefined => {
  const r = parseArgs(argv);
  return r.ok ? undefined : usageErrorText(r.error);
};

describe('commands_v_options, cell by cell (spec §5.2)', () => {
  for (const [cmd, row] of Object.entries(ORACLE)) {
    const cells = [...row.matchAll(/'(.)'/g)].map((m) => m[1]);
    const compulsory = OPTS.filter((_, j) => cells[j] === '+');
    const base = [...CMD_ARGV[cmd], ...compulsory.flatMap(([, a]) => a)];
    it(`${cmd}: ${cells.filter((c) => c === 'x').length} illegal, ${compulsory.length} compulsory`, () => {
      assert.equal(cells.length, 34);
      OPTS.forEach(([name, sample], j) => {
        if (cells[j] === '+') {
          const without = [...CMD_ARGV[cmd], ...compulsory.filter(([n]) => n !== name).flatMap(([, a]) => a)];
          assert.equal(message(without), `You need to supply the '${name}' option for the '${cmd}' command\n`, `${cmd} without ${name}`);
          return;
        }
        const msg = message([...base, ...sample]);
        if (cells[j] === 'x') assert.equal(msg, `Illegal '${name}' option with the '${cmd}' command\n`, `${cmd} with ${name}`);
        else assert.ok(msg === undefined || !/^(Illegal|You need)/.test(msg), `${cmd} with ${name}: ${msg}`);
      });
    });
  }
});
