import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfigText } from './load.js';
import { readFixture, seeded } from './testing.js';
import { toTable } from './to-table.js';

const CHARS = 'abcxyz019:-_ .,[]{}"\'#&*!|>%@`\t\n\\/~?';
const VALUES = ['"str"', '42', '-1', 'true', 'null', '[]', '{}', '[1, 2]', '1.5', '"10.0.0.1"', '70000', '~', '""', '0', '"::1"', 'tcp', '{ a: 1 }'];

/** One random edit of the text: delete/duplicate/swap lines, change a character, swap a value's type, re-indent. */
function mutate(text: string, rnd: () => number): string {
  const lines = text.split('\n');
  const pick = (n: number) => Math.floor(rnd() * n);
  const i = pick(lines.length);
  switch (pick(6)) {
    case 0: lines.splice(i, 1); break;
    case 1: lines.splice(i, 0, lines[i]); break;
    case 2: {
      const l = lines[i];
      const at = pick(l.length + 1);
      lines[i] = l.slice(0, at) + CHARS[pick(CHARS.length)] + l.slice(at + (rnd() < 0.5 ? 1 : 0));
      break;
    }
    case 3: {
      const m = /^(\s*(?:- )?[A-Za-z_]+:\s*)(.*)$/.exec(lines[i]);
      if (m) lines[i] = m[1] + VALUES[pick(VALUES.length)];
      break;
    }
    case 4: lines[i] = rnd() < 0.5 ? `  ${lines[i]}` : lines[i].replace(/^ {1,2}/, ''); break;
    default: {
      const j = pick(lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]];
    }
  }
  return lines.join('\n');
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
