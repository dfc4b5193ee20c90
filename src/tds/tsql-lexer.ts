/**
 * A T-SQL tokeniser, just enough to rewrite outside string literals, quoted identifiers and comments
 * (tds.md §7): `'…'` with `''` escapes and an optional N prefix, `[…]` and `"…"` identifiers, `--` and
 * `/* … *\/` comments, words, numbers, `@var`, `@@global` and single punctuation characters.
 */
export type TokenKind = "ws" | "comment" | "str" | "qid" | "word" | "num" | "var" | "gvar" | "punct";

export interface SqlToken {
  kind: TokenKind;
  text: string;
  /** For words: upper-cased text, for quick keyword tests. */
  upper: string;
}

const WORD = /[A-Za-z_#\u0080-\uffff][\w#$\u0080-\uffff]*/y;
const NUM = /(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]*)/y;
const VAR = /@@?[\w#$]*/y;
const WS = /\s+/y;

function readQuoted(sql: string, start: number, close: string): number {
  let i = start + 1;
  for (;;) {
    const j = sql.indexOf(close, i);
    if (j < 0) return sql.length;
    if (sql[j + 1] === close) {
      i = j + 2;
      continue;
    }
    return j + 1;
  }
}

export function tokenize(sql: string): SqlToken[] {
  const out: SqlToken[] = [];
  let i = 0;
  const push = (kind: TokenKind, end: number) => {
    const text = sql.slice(i, end);
    out.push({ kind, text, upper: kind === "word" ? text.toUpperCase() : text });
    i = end;
  };
  const sticky = (re: RegExp): number => {
    re.lastIndex = i;
    return re.test(sql) ? re.lastIndex : -1;
  };
  while (i < sql.length) {
    const c = sql[i]!;
    const n = sql[i + 1];
    let end: number;
    if ((end = sticky(WS)) > 0) push("ws", end);
    else if (c === "-" && n === "-") {
      const j = sql.indexOf("\n", i);
      push("comment", j < 0 ? sql.length : j);
    } else if (c === "/" && n === "*") {
      const j = sql.indexOf("*/", i + 2);
      push("comment", j < 0 ? sql.length : j + 2);
    } else if (c === "'") push("str", readQuoted(sql, i, "'"));
    else if ((c === "N" || c === "n") && n === "'") push("str", readQuoted(sql, i + 1, "'"));
    else if (c === "[") push("qid", readQuoted(sql, i, "]"));
    else if (c === '"') push("qid", readQuoted(sql, i, '"'));
    else if (c === "@") push(n === "@" ? "gvar" : "var", sticky(VAR));
    else if (/\d/.test(c) || (c === "." && /\d/.test(n ?? ""))) push("num", sticky(NUM));
    else if ((end = sticky(WORD)) > 0) push("word", end);
    else push("punct", i + 1);
  }
  return out;
}

export const significant = (t: SqlToken): boolean => t.kind !== "ws" && t.kind !== "comment";
export const isWord = (t: SqlToken | undefined, ...words: string[]): boolean => !!t && t.kind === "word" && words.includes(t.upper);
