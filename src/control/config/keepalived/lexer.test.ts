import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Diagnostics, KeepalivedError } from './diagnostics.js';
import { lexKeepalived, noIncludeHost, tokenizeLine } from './lexer.js';
import type { IncludeHost } from './lexer.js';
import { parseKeepalived } from './parser.js';
import type { KaNode } from './parser.js';

const words = (line: string) => tokenizeLine(line, () => undefined).map((t) => (t.kind === 'word' ? t.text : t.kind));

/** An in-memory file tree for includes. */
function memHost(files: Record<string, string>): IncludeHost {
  return {
    readFile: (p) => { if (!(p in files)) throw new Error('ENOENT'); return files[p]; },
    glob: (pattern) => {
      const re = new RegExp(`^${pattern.replace(/[.+^$()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '.')}$`);
      return Object.keys(files).filter((f) => re.test(f)).sort();
    },
  };
}

function tree(text: string, host = noIncludeHost, file = '/etc/keepalived/keepalived.conf'): { nodes: KaNode[]; diag: Diagnostics } {
  const diag = new Diagnostics();
  return { nodes: parseKeepalived(lexKeepalived(text, file, host, diag)), diag };
}

describe('keepalived lexer (keepalived.conf(5) syntax)', () => {
  it('splits words, braces and comments (# and ! anywhere outside quotes)', () => {
    assert.deepEqual(words('real_server 10.0.0.1 80 {   # comment { }'), ['real_server', '10.0.0.1', '80', 'open']);
    assert.deepEqual(words('url{path /x}! trailing'), ['url', 'open', 'path', '/x', 'close']);
    assert.deepEqual(words('   ! whole line'), []);
  });

  it('quoted strings keep spaces and comment characters, join adjacent text and take escapes', () => {
    assert.deepEqual(words('misc_path "/bin/check a#b !c"'), ['misc_path', '/bin/check a#b !c']);
    assert.deepEqual(words(`x abcd" efg h jkl "mnop`), ['x', 'abcd efg h jkl mnop']);
    assert.deepEqual(words(`x 'abcd "efg h"'`), ['x', 'abcd "efg h"']);
    assert.deepEqual(words('x "a\\tb\\x41\\101\\\\\\""'), ['x', 'a\tbAA\\"']);
  });

  it('reports an unterminated quote and takes the rest of the line', () => {
    const warnings: string[] = [];
    assert.deepEqual(tokenizeLine('x "abc def', (m) => warnings.push(m)).map((t) => t.text), ['x', 'abc def']);
    assert.deepEqual(warnings, ['unterminated " quote: the string runs to the end of the line']);
  });

  it('substitutes single-line $NAME definitions and reports conditional and multi-line ones', () => {
    const { nodes, diag } = tree('$PORT=8080\n$IP=10.0.0.1\n@main router_id a\nreal_server ${IP} $PORT\n$M= \\\n  a \\\n  b\n$UNDEF_USED $IP');
    assert.deepEqual(nodes.map((n) => [n.keyword, n.args.map((a) => a.text), n.line]), [
      ['real_server', ['10.0.0.1', '8080'], 4],
      ['$UNDEF_USED', ['10.0.0.1'], 8],
    ]);
    assert.deepEqual(diag.items.map((d) => [d.line, d.message]), [
      [3, "@main is not supported by tsvs yet (conditional lines need keepalived's config-id; the line was skipped)"],
      [5, 'multi-line definition $M is not supported by tsvs yet (only single-line $NAME=VALUE definitions are expanded; the definition was skipped)'],
    ]);
  });
});

describe('keepalived parser', () => {
  it('builds blocks, with { on the same or the next line and several statements on one line', () => {
    const { nodes } = tree('virtual_server 10.0.0.1 80\n{\n  real_server 10.0.0.2 80 { TCP_CHECK { connect_port 80 } }\n  url { path / }\n}\n');
    assert.equal(nodes.length, 1);
    const vs = nodes[0];
    assert.deepEqual([vs.keyword, vs.line, vs.block?.length], ['virtual_server', 1, 2]);
    const rs = vs.block![0];
    assert.deepEqual([rs.keyword, rs.line, rs.block![0].keyword, rs.block![0].block![0].keyword, rs.block![0].block![0].args[0].text], ['real_server', 3, 'TCP_CHECK', 'connect_port', '80']);
    assert.deepEqual(vs.block![1].block!.map((n) => [n.keyword, n.args[0].text]), [['path', '/']]);
  });

  it('unbalanced braces are errors naming the line', () => {
    assert.throws(() => tree('a {\n  b {\n}\n'), (e: unknown) => e instanceof KeepalivedError && e.line === 1 && /block of a is not closed/.test(e.message));
    assert.throws(() => tree('a {\n}\n}\n'), (e: unknown) => e instanceof KeepalivedError && e.line === 3 && /unexpected }/.test(e.message));
    assert.throws(() => tree('\n\n{ x }\n'), (e: unknown) => e instanceof KeepalivedError && e.line === 3);
  });

  it('include reads files relative to the including file, with globs, in order, and names them in line numbers', () => {
    const host = memHost({
      '/etc/keepalived/conf.d/b.conf': 'vs_b {\n}\n',
      '/etc/keepalived/conf.d/a.conf': '\nvs_a {\n  include ../inner.inc\n}\n',
      '/etc/keepalived/inner.inc': 'weight 3\n',
    });
    const { nodes, diag } = tree('include conf.d/*.conf\ninclude missing/*.conf\nlast\n', host);
    assert.deepEqual(nodes.map((n) => [n.keyword, n.file, n.line]), [
      ['vs_a', 'conf.d/a.conf', 2], ['vs_b', 'conf.d/b.conf', 1], ['last', '/etc/keepalived/keepalived.conf', 3],
    ]);
    assert.deepEqual(nodes[0].block!.map((n) => [n.keyword, n.file, n.line]), [['weight', 'inner.inc', 1]]);
    assert.deepEqual(diag.items.map((d) => [d.line, d.message]), [[2, 'missing/*.conf matches no file; nothing included']]);
  });

  it('an include loop stops with an error', () => {
    const host = memHost({ '/k/a.conf': 'include a.conf\n' });
    assert.throws(() => tree('include a.conf\n', host, '/k/main.conf'), (e: unknown) => e instanceof KeepalivedError && /nest deeper/.test(e.message));
  });
});
