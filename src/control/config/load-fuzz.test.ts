import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfigText } from './load.js';
import { mutateLines, readFixture, seeded } from './testing.js';
import { toTable } from './to-table.js';

const CHARS = 'abcxyz019:-_ .,[]{}"\'#&*!|>%@`\t\n\\/~?';
const VALUES = ['"str"', '42', '-1', 'true', 'null', '[]', '{}', '[1, 2]', '1.5', '"10.0.0.1"', '70000', '~', '""', '0', '"::1"', 'tcp', '{ a: 1 }'];

/** YAML's own edits: a value swapped for one of another type, a line re-indented. */
function mutate(text: string, rnd: () => number): string {
  return mutateLines(text, rnd, CHARS, [
    (line, pick) => {
      const m = /^(\s*(?:- )?[A-Za-z_]+:\s*)(.*)$/.exec(line);
      return m ? m[1] + VALUES[pick(VALUES.length)] : line;
    },
    (line, pick) => (pick(2) === 0 ? `  ${line}` : line.replace(/^ {1,2}/, '')),
  ]);
}

describe('config loader fuzz', () => {
  it('20000 mutations of examples/tsvs.yaml: only ConfigError with positions, and loaded configs convert', () => {
    // Comment-only and blank lines are dropped: mutating them tests nothing and costs time.
    const sample = readFixture('examples/tsvs.yaml').split('\n').filter((l) => !/^\s*(#.*)?$/.test(l)).join('\n');
    const rnd = seeded(20240607);
    let loaded = 0;
    let refused = 0;
    for (let n = 0; n < 20000; n++) {
      let text = sample;
      const edits = 1 + Math.floor(rnd() * 3);
      for (let k = 0; k < edits; k++) text = mutate(text, rnd);
      try {
        const cfg = loadConfigText(text, 'fuzz.yaml');
        toTable(cfg);
        loaded++;
      } catch (e) {
        if (!(e instanceof ConfigError)) {
          assert.fail(`mutation ${n} threw ${String(e)}\n--- input ---\n${text}`);
        }
        assert.ok(e.issues.length > 0, `mutation ${n}: ConfigError without issues`);
        for (const issue of e.issues) {
          assert.equal(issue.file, 'fuzz.yaml');
          assert.ok(issue.line >= 1 && issue.col >= 1, `mutation ${n}: no position in ${JSON.stringify(issue)}`);
          assert.ok(issue.message.length > 0);
          assert.match(issue.path, /^$|^([A-Za-z_][\w-]*|\[".*"\])(\.[A-Za-z_][\w-]*|\[\d+\]|\[".*"\])*$/, `mutation ${n}: odd path ${issue.path}`);
        }
        refused++;
      }
    }
    // Both outcomes must be common, or the mutations are not exercising the loader.
    assert.ok(loaded > 1000 && refused > 1000, `loaded ${loaded}, refused ${refused}`);
  });
});
