import { fail } from '../errors.js';

/**
 * A reader for the TOML subset that containerd's `hosts.toml` files use: comments, bare,
 * quoted and dotted keys, `[tables]` and `[[arrays of tables]]`, basic and literal strings
 * (single-line and multi-line), integers, floats, booleans, arrays and inline tables.
 * Dates are not supported. Table key order is kept (mirror order matters).
 */
export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

/** @throws InvalidArgument naming `what` and the line at fault. */
export function parseToml(text: string, what = 'toml'): TomlTable {
  return new Reader(text, what).document();
}

class Reader {
  private pos = 0;
  private readonly root: TomlTable = {};

  constructor(
    private readonly text: string,
    private readonly what: string,
  ) {}

  document(): TomlTable {
    let table = this.root;
    for (;;) {
      this.skipBlank();
      if (this.pos >= this.text.length) return this.root;
      if (this.text.startsWith('[[', this.pos)) {
        this.pos += 2;
        const keys = this.keyPath(']]');
        table = this.arrayTable(keys);
      } else if (this.peek() === '[') {
        this.pos++;
        table = this.table(this.keyPath(']'), this.root);
      } else {
        this.keyValue(table);
      }
      this.endOfLine();
    }
  }

  private keyValue(table: TomlTable): void {
    const keys = this.keyPath('=');
    const last = keys.pop()!;
    const target = this.table(keys, table);
    if (Object.hasOwn(target, last)) this.error(`duplicate key ${JSON.stringify(last)}`);
    this.skipSpaces();
    target[last] = this.value();
  }

  /** Reads dotted keys up to `end` (consumed). */
  private keyPath(end: string): string[] {
    const keys: string[] = [];
    for (;;) {
      this.skipSpaces();
      keys.push(this.key());
      this.skipSpaces();
      if (this.text.startsWith(end, this.pos)) {
        this.pos += end.length;
        return keys;
      }
      if (this.peek() !== '.') this.error(`expected "." or "${end}"`);
      this.pos++;
    }
  }

  private key(): string {
    const c = this.peek();
    if (c === '"') return this.basicString();
    if (c === "'") return this.literalString();
    const match = /^[A-Za-z0-9_-]+/.exec(this.text.slice(this.pos, this.pos + 256));
    if (!match) this.error('expected a key');
    this.pos += match[0].length;
    return match[0];
  }

  private table(keys: readonly string[], from: TomlTable): TomlTable {
    let table = from;
    for (const key of keys) {
      let next = table[key];
      if (next === undefined) {
        next = {};
        table[key] = next;
      }
      if (Array.isArray(next)) next = next[next.length - 1];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) {
        this.error(`key ${JSON.stringify(key)} is not a table`);
      }
      table = next;
    }
    return table;
  }

  private arrayTable(keys: string[]): TomlTable {
    const last = keys.pop()!;
    const parent = this.table(keys, this.root);
    parent[last] ??= [];
    const list = parent[last];
    if (!Array.isArray(list)) this.error(`key ${JSON.stringify(last)} is not an array`);
    const table: TomlTable = {};
    list.push(table);
    return table;
  }

  private value(): TomlValue {
    const c = this.peek();
    if (this.text.startsWith('"""', this.pos)) return this.multiline('"""');
    if (this.text.startsWith("'''", this.pos)) return this.multiline("'''");
    if (c === '"') return this.basicString();
    if (c === "'") return this.literalString();
    if (c === '[') return this.array();
    if (c === '{') return this.inlineTable();
    const match = /^[^\s,\]}#]+/.exec(this.text.slice(this.pos, this.pos + 128));
    if (!match) this.error('expected a value');
    this.pos += match[0].length;
    return this.scalar(match[0]);
  }

  private scalar(token: string): TomlValue {
    if (token === 'true') return true;
    if (token === 'false') return false;
    const plain = token.replaceAll('_', '');
    if (/^[+-]?(0x[0-9a-fA-F]+|0o[0-7]+|0b[01]+)$/.test(plain)) {
      const sign = plain.startsWith('-') ? -1 : 1;
      return sign * Number(plain.replace(/^[+-]/, ''));
    }
    if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(plain)) return Number(plain);
    if (/^[+-]?(inf|nan)$/.test(plain))
      return plain.includes('nan') ? Number.NaN : Number(`${plain.replace('inf', 'Infinity')}`);
    return this.error(`unsupported value ${JSON.stringify(token)}`);
  }

  private array(): TomlValue[] {
    this.pos++;
    const items: TomlValue[] = [];
    for (;;) {
      this.skipBlank();
      if (this.peek() === ']') {
        this.pos++;
        return items;
      }
      items.push(this.value());
      this.skipBlank();
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== ']') this.error('expected "," or "]" in array');
    }
  }

  private inlineTable(): TomlTable {
    this.pos++;
    const table: TomlTable = {};
    for (;;) {
      this.skipSpaces();
      if (this.peek() === '}') {
        this.pos++;
        return table;
      }
      this.keyValue(table);
      this.skipSpaces();
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== '}') this.error('expected "," or "}" in inline table');
    }
  }

  private basicString(): string {
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.text[this.pos++];
      if (c === undefined || c === '\n') this.error('unterminated string');
      if (c === '"') return out;
      out += c === '\\' ? this.escape() : c;
    }
  }

  private escape(): string {
    const c = this.text[this.pos++];
    const simple: Record<string, string> = {
      b: '\b',
      t: '\t',
      n: '\n',
      f: '\f',
      r: '\r',
      '"': '"',
      '\\': '\\',
    };
    if (c !== undefined && simple[c] !== undefined) return simple[c];
    if (c === 'u' || c === 'U') {
      const len = c === 'u' ? 4 : 8;
      const hex = this.text.slice(this.pos, this.pos + len);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) this.error('invalid unicode escape');
      this.pos += len;
      return String.fromCodePoint(Number.parseInt(hex, 16));
    }
    return this.error(`invalid escape \\${c ?? ''}`);
  }

  private literalString(): string {
    const end = this.text.indexOf("'", this.pos + 1);
    const newline = this.text.indexOf('\n', this.pos + 1);
    if (end < 0 || (newline >= 0 && newline < end)) this.error('unterminated string');
    const out = this.text.slice(this.pos + 1, end);
    this.pos = end + 1;
    return out;
  }

  private multiline(quote: string): string {
    const start = this.pos + 3;
    const end = this.text.indexOf(quote, start);
    if (end < 0) this.error('unterminated multi-line string');
    this.pos = end + 3;
    let raw = this.text.slice(start, end).replace(/^\r?\n/, '');
    if (quote === "'''") return raw;
    raw = raw.replace(/\\\r?\n\s*/g, '');
    return raw.replace(/\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/g, (_, e: string) => {
      if (e[0] === 'u' || e[0] === 'U')
        return String.fromCodePoint(Number.parseInt(e.slice(1), 16));
      const simple: Record<string, string> = {
        b: '\b',
        t: '\t',
        n: '\n',
        f: '\f',
        r: '\r',
        '"': '"',
        '\\': '\\',
      };
      return simple[e] ?? this.error(`invalid escape \\${e}`);
    });
  }

  private endOfLine(): void {
    this.skipSpaces();
    if (this.peek() === '#') this.skipComment();
    const c = this.peek();
    if (c === undefined) return;
    if (c === '\n') this.pos++;
    else if (this.text.startsWith('\r\n', this.pos)) this.pos += 2;
    else this.error('expected the end of the line');
  }

  private skipSpaces(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  /** Spaces, newlines and comments. */
  private skipBlank(): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.pos++;
      else if (c === '#') this.skipComment();
      else return;
    }
  }

  private skipComment(): void {
    const newline = this.text.indexOf('\n', this.pos);
    this.pos = newline < 0 ? this.text.length : newline;
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  private error(message: string): never {
    const line = this.text.slice(0, this.pos).split('\n').length;
    throw fail('InvalidArgument', `${this.what}: line ${line}: ${message}`);
  }
}
