import { fail } from './errors.js';

/**
 * containerd's filter language, used by every `walk` and `ls`:
 *
 *   filter   := selector ("," selector)*         selectors joined by "," must all match
 *   selector := fieldpath [op value]              a bare fieldpath means "is present"
 *   op       := "==" | "!=" | "~="                ~= is a regular expression match
 *   fieldpath:= field ("." field)*                fields and values may be "quoted"
 *
 * Several filters given together match when any of them matches, e.g.
 * `labels."foo.bar"==baz,digest~=^sha256:ab` or `name==docker.io/library/alpine:latest`.
 */
export type Adaptor = (fieldpath: readonly string[]) => string | undefined;

export interface Filter {
  match(adaptor: Adaptor): boolean;
}

type Op = '==' | '!=' | '~=';

interface Selector {
  readonly fieldpath: readonly string[];
  readonly op?: Op;
  readonly value?: string;
  readonly regexp?: RegExp;
}

export const matchAll: Filter = { match: () => true };

/**
 * Parses filters (OR of ANDs).
 * @throws InvalidArgument naming the filter and position at fault.
 */
export function parseFilters(filters: readonly string[]): Filter {
  if (filters.length === 0) return matchAll;
  const alternatives = filters.map(parseFilter);
  return { match: (adaptor) => alternatives.some((all) => all.every((s) => test(s, adaptor))) };
}

function test(selector: Selector, adaptor: Adaptor): boolean {
  const value = adaptor(selector.fieldpath);
  const op = selector.op;
  if (op === undefined) return value !== undefined;
  switch (op) {
    case '==':
      return value === selector.value;
    case '!=':
      return value !== selector.value;
    case '~=':
      return value !== undefined && selector.regexp!.test(value);
  }
}

function parseFilter(text: string): Selector[] {
  const scanner = new Scanner(text);
  const selectors: Selector[] = [];
  do {
    selectors.push(parseSelector(scanner));
  } while (scanner.eat(','));
  if (!scanner.done()) scanner.error('unexpected input');
  return selectors;
}

function parseSelector(s: Scanner): Selector {
  const fieldpath = [s.field()];
  while (s.eat('.')) fieldpath.push(s.field());
  const op = s.op();
  if (op === undefined) return { fieldpath };
  const value = s.value();
  if (op !== '~=') return { fieldpath, op, value };
  try {
    return { fieldpath, op, value, regexp: new RegExp(value) };
  } catch {
    return s.error(`invalid regular expression ${JSON.stringify(value)}`);
  }
}

class Scanner {
  private pos = 0;
  constructor(private readonly text: string) {}

  done(): boolean {
    return this.pos >= this.text.length;
  }

  eat(token: string): boolean {
    if (!this.text.startsWith(token, this.pos)) return false;
    this.pos += token.length;
    return true;
  }

  op(): Op | undefined {
    for (const op of ['==', '!=', '~='] as const) if (this.eat(op)) return op;
    return undefined;
  }

  field(): string {
    if (this.text[this.pos] === '"') return this.quoted();
    const match = /^[A-Za-z0-9_/-]+/.exec(this.text.slice(this.pos));
    if (!match) return this.error('expected a field name');
    this.pos += match[0].length;
    return match[0];
  }

  value(): string {
    if (this.text[this.pos] === '"') return this.quoted();
    const end = this.text.indexOf(',', this.pos);
    const value = this.text.slice(this.pos, end < 0 ? undefined : end);
    this.pos += value.length;
    return value;
  }

  private quoted(): string {
    let out = '';
    for (let i = this.pos + 1; i < this.text.length; i++) {
      const c = this.text[i];
      if (c === '\\' && i + 1 < this.text.length) out += this.text[++i];
      else if (c === '"') {
        this.pos = i + 1;
        return out;
      } else out += c;
    }
    return this.error('unterminated quote');
  }

  error(what: string): never {
    throw fail('InvalidArgument', `filter ${JSON.stringify(this.text)}: ${what} at ${this.pos}`);
  }
}

/** An adaptor for records with labels: `labels.<key>` and the given (dotted) fields. */
export function labelledAdaptor(
  fields: Readonly<Record<string, string | undefined>>,
  labels: Readonly<Record<string, string>>,
): Adaptor {
  return (path) => {
    const [head, ...rest] = path;
    if (head === 'labels') return rest.length === 0 ? undefined : labels[rest.join('.')];
    return fields[path.join('.')];
  };
}
