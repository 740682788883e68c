// keepalived.conf parser: lines of tokens → a tree of statements. keepalived's grammar is
// line-oriented: a statement is a keyword and its arguments up to the end of the line, and a
// `{` (on the same line, or alone on the next one) opens its block up to the matching `}`.
// Several statements may share a line when braces separate them (`url { path / }`).
import { KeepalivedError } from './diagnostics.js';
import type { KaLine, KaToken } from './lexer.js';

/** A keyword with its arguments and, when it has one, its block. */
export interface KaNode {
  readonly keyword: string;
  readonly args: readonly KaToken[];
  readonly file: string;
  readonly line: number;
  block?: KaNode[];
}

const MAX_DEPTH = 32;

/** Builds the statement tree; throws KeepalivedError on unbalanced braces. */
export function parseKeepalived(lines: readonly KaLine[]): KaNode[] {
  const root: KaNode[] = [];
  const stack: { nodes: KaNode[]; owner?: KaNode }[] = [{ nodes: root }];
  const top = () => stack[stack.length - 1];
  let lastStatement: KaNode | undefined;
  let lastEndedLine = false;

  for (const line of lines) {
    const toks = line.tokens;
    let i = 0;
    // A line starting with `{` opens the block of the statement on the previous line.
    if (toks[0].kind === 'open' && lastStatement && !lastStatement.block && lastEndedLine) {
      open(lastStatement, line);
      i = 1;
    }
    lastEndedLine = false;
    while (i < toks.length) {
      const t = toks[i];
      if (t.kind === 'close') {
        if (stack.length === 1) throw new KeepalivedError(line.file, line.line, 'unexpected } (no block is open)');
        stack.pop();
        lastStatement = undefined;
        i++;
        continue;
      }
      if (t.kind === 'open') {
        throw new KeepalivedError(line.file, line.line, 'unexpected { (a block must follow a keyword)');
      }
      const args: KaToken[] = [];
      let j = i + 1;
      while (j < toks.length && toks[j].kind === 'word') args.push(toks[j++]);
      const node: KaNode = { keyword: t.text, args, file: line.file, line: line.line };
      top().nodes.push(node);
      lastStatement = node;
      i = j;
      if (i < toks.length && toks[i].kind === 'open') {
        open(node, line);
        i++;
      } else if (i >= toks.length) {
        lastEndedLine = true;
      }
    }
  }
  if (stack.length > 1) {
    const owner = top().owner!;
    throw new KeepalivedError(owner.file, owner.line, `the block of ${owner.keyword} is not closed (missing })`);
  }
  return root;

  function open(node: KaNode, line: KaLine): void {
    if (stack.length > MAX_DEPTH) throw new KeepalivedError(line.file, line.line, `blocks nest deeper than ${MAX_DEPTH} levels`);
    node.block = [];
    stack.push({ nodes: node.block, owner: node });
    lastStatement = undefined;
  }
}
