/**
 * The google.api.http path template syntax:
 *
 *     Template = "/" Segments [ Verb ] ;
 *     Segments = Segment { "/" Segment } ;
 *     Segment  = "*" | "**" | LITERAL | Variable ;
 *     Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *     FieldPath = IDENT { "." IDENT } ;
 *     Verb     = ":" LITERAL ;
 *
 * `{field}` is `{field=*}`; `**` matches zero or more segments and must come last.
 */

export type TemplateSegment =
  | { readonly kind: 'literal'; readonly value: string }
  /** `*`: exactly one segment. */
  | { readonly kind: 'single' }
  /** `**`: zero or more segments, always the last one. */
  | { readonly kind: 'multi' };

export interface TemplateVariable {
  /** "a.b" split: ["a", "b"]. */
  readonly fieldPath: readonly string[];
  /** Index of the first segment it covers. */
  readonly start: number;
  /** Index after the last template segment it covers (an open variable runs to the path's end). */
  readonly end: number;
  /** Whether the variable ends in `**` (its value then spans the rest of the path). */
  readonly open: boolean;
  /** Whether the value may span several segments (so "/" in it is not escaped). */
  readonly multiSegment: boolean;
}

export interface PathTemplate {
  readonly source: string;
  readonly segments: readonly TemplateSegment[];
  readonly variables: readonly TemplateVariable[];
  /** The custom verb without its colon, "" when none. */
  readonly verb: string;
  /** No variable and no wildcard: the path is matched as one string. */
  readonly literal: boolean;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses a template; throws an Error that names the template and the problem. */
export function parsePathTemplate(source: string): PathTemplate {
  return new TemplateParser(source).parse();
}

class TemplateParser {
  readonly #source: string;
  #pos = 0;
  readonly #segments: TemplateSegment[] = [];
  readonly #variables: TemplateVariable[] = [];

  constructor(source: string) {
    this.#source = source;
  }

  parse(): PathTemplate {
    const src = this.#source;
    if (!src.startsWith('/')) this.#fail('must start with "/"');
    this.#pos = 1;
    if (src.length > 1 && src[1] !== ':') this.#parseSegments(false);
    let verb = '';
    if (this.#peek() === ':') {
      this.#pos++;
      verb = this.#literal();
      if (verb === '') this.#fail('empty verb');
    }
    if (this.#pos !== src.length) this.#fail(`unexpected ${JSON.stringify(src[this.#pos])}`);
    const multiAt = this.#segments.findIndex((s) => s.kind === 'multi');
    if (multiAt !== -1 && multiAt !== this.#segments.length - 1) this.#fail('"**" must be the last segment');
    const variables = this.#variables;
    return {
      source: src,
      segments: this.#segments,
      variables,
      verb,
      literal: variables.length === 0 && this.#segments.every((s) => s.kind === 'literal'),
    };
  }

  #parseSegments(inVariable: boolean): void {
    for (;;) {
      this.#parseSegment(inVariable);
      if (this.#peek() !== '/') return;
      this.#pos++;
    }
  }

  #parseSegment(inVariable: boolean): void {
    const c = this.#peek();
    if (c === '*') {
      this.#pos++;
      if (this.#peek() === '*') {
        this.#pos++;
        this.#segments.push({ kind: 'multi' });
      } else {
        this.#segments.push({ kind: 'single' });
      }
      return;
    }
    if (c === '{') {
      if (inVariable) this.#fail('nested variable');
      this.#parseVariable();
      return;
    }
    const value = this.#literal();
    if (value === '') this.#fail('empty segment');
    this.#segments.push({ kind: 'literal', value });
  }

  #parseVariable(): void {
    this.#pos++; // "{"
    const close = this.#source.indexOf('}', this.#pos);
    if (close === -1) this.#fail('unclosed "{"');
    const inner = this.#source.slice(this.#pos, close);
    const eq = inner.indexOf('=');
    const fieldPath = (eq === -1 ? inner : inner.slice(0, eq)).split('.');
    if (!fieldPath.every((p) => IDENT.test(p))) this.#fail(`invalid field path ${JSON.stringify(inner)}`);
    if (this.#variables.some((v) => v.fieldPath.join('.') === fieldPath.join('.'))) {
      this.#fail(`field ${fieldPath.join('.')} bound twice`);
    }
    const start = this.#segments.length;
    if (eq === -1) {
      this.#segments.push({ kind: 'single' });
      this.#pos = close;
    } else {
      this.#pos += eq + 1;
      this.#parseSegments(true);
      if (this.#pos !== close)
        this.#fail(`unexpected ${JSON.stringify(this.#source[this.#pos])} in variable`);
    }
    this.#pos = close + 1;
    const end = this.#segments.length;
    const open = this.#segments[end - 1]?.kind === 'multi';
    this.#variables.push({ fieldPath, start, end, open, multiSegment: open || end - start > 1 });
  }

  /** A run of literal characters: anything but the template's own punctuation. */
  #literal(): string {
    const start = this.#pos;
    const src = this.#source;
    while (this.#pos < src.length && !'/{}*:='.includes(src[this.#pos] as string)) this.#pos++;
    return src.slice(start, this.#pos);
  }

  #peek(): string | undefined {
    return this.#source[this.#pos];
  }

  #fail(problem: string): never {
    throw new Error(
      `invalid HTTP path template ${JSON.stringify(this.#source)}: ${problem} (at ${this.#pos})`,
    );
  }
}

/**
 * The value of a variable from the request path's segments. A single-segment value is fully
 * percent-decoded; a multi-segment one keeps "%2F" escaped so that it cannot forge a "/".
 */
export function variableValue(variable: TemplateVariable, segments: readonly string[]): string {
  if (!variable.multiSegment) return decodeSegment(segments[variable.start] ?? '');
  const end = variable.open ? segments.length : variable.end;
  const parts: string[] = [];
  for (let i = variable.start; i < end; i++) {
    parts.push(decodeSegment((segments[i] ?? '').replace(/%2F/gi, '%252F')));
  }
  return parts.join('/');
}

function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // a stray "%": keep the text as sent rather than refuse the call
  }
}

/**
 * Fills a template for a client: each variable's value percent-encoded ("/" kept in
 * multi-segment ones). A bare wildcard outside any variable cannot be filled: undefined.
 */
export function expandTemplate(
  template: PathTemplate,
  values: ReadonlyMap<string, string>,
): string | undefined {
  let out = '';
  let i = 0;
  const byStart = new Map(template.variables.map((v) => [v.start, v]));
  const segments = template.segments;
  while (i < segments.length) {
    const variable = byStart.get(i);
    if (variable) {
      const value = values.get(variable.fieldPath.join('.')) ?? '';
      out += `/${variable.multiSegment ? value.split('/').map(encodeSegment).join('/') : encodeSegment(value)}`;
      i = variable.open ? segments.length : variable.end;
      continue;
    }
    const segment = segments[i] as TemplateSegment;
    if (segment.kind !== 'literal') return undefined;
    out += `/${segment.value}`;
    i++;
  }
  if (out === '') out = '/';
  return template.verb ? `${out}:${template.verb}` : out;
}

/** Percent-encodes everything but RFC 3986 unreserved characters. */
function encodeSegment(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
