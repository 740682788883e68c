import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigText } from '../load.js';
import { mutateLines, readFixture, seeded } from '../testing.js';
import { toTable } from '../to-table.js';
import { KeepalivedError, importKeepalivedText } from './convert.js';

const CHARS = 'abz0159.-:/{}"\'#!$@ \t\n\\xX';

/** Keepalived's own edits: a word swapped for a word from elsewhere in the file, a number for an edge value. */
function mutate(text: string, rnd: () => number, tokens: readonly string[]): string {
  return mutateLines(text, rnd, CHARS, [
    (line, pick) => {
      const words = line.split(/(\s+)/);
      const w = pick(words.length);
      if (words[w].trim()) words[w] = tokens[pick(tokens.length)];
      return words.join('');
    },
    (line, pick) => line.replace(/[0-9]+/, () => String([0, 1, 65536, 4294967296, -1, 99999999999][pick(6)])),
  ]);
}

describe('keepalived import fuzz', () => {
  it('3000 mutations of examples/keepalived.conf: either YAML that loads, or a KeepalivedError with a line', () => {
    const sample = readFixture('examples/keepalived.conf');
    const tokens = [...new Set(sample.split(/\s+/).filter((w) => w && !w.startsWith('#') && !w.startsWith('!')))];
    const rnd = seeded(7);
    let converted = 0;
    let refused = 0;
    for (let n = 0; n < 3000; n++) {
      let text = sample;
      const edits = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < edits; k++) text = mutate(text, rnd, tokens);
      try {
        const r = importKeepalivedText(text, 'fuzz.conf');
        for (const d of r.diagnostics) assert.ok(d.line >= 1, `mutation ${n}: diagnostic without a line: ${JSON.stringify(d)}`);
        toTable(loadConfigText(r.yaml, 'out.yaml'));
        converted++;
      } catch (e) {
        if (!(e instanceof KeepalivedError)) assert.fail(`mutation ${n} threw ${(e as Error).stack}\n--- input ---\n${text}`);
        assert.ok(e.line >= 1, `mutation ${n}: error without a line: ${e.message}`);
        assert.match(e.message, /^fuzz\.conf:\d+: /);
        refused++;
      }
    }
    assert.ok(converted > 300 && refused > 100, `converted ${converted}, refused ${refused}`);
  });
});
