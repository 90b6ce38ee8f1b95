/**
 * google.api.http path templates as OpenAPI paths: `{field}` stays, `{field=shelves/*}` becomes
 * `{field}` with a pattern (its value spans segments, "/" sent unencoded), a bare `*` or `**`
 * becomes an anonymous parameter, and a `:verb` suffix stays. This reads only what documents
 * need; the router's parser (transports/http/path-template.ts) is the authority on matching.
 */

export interface PathVariable {
  /** The parameter name: the field path as the template writes it ("book.name"). */
  readonly name: string;
  /** Undefined for an anonymous wildcard, whose value the server ignores. */
  readonly fieldPath: readonly string[] | undefined;
  /** A regular expression for multi-segment values ("^shelves/[^/]+$"); undefined for one segment. */
  readonly pattern: string | undefined;
  /** The segments the value covers, as the template writes them ("shelves/*"). */
  readonly segments: string;
}

export interface OpenApiPath {
  readonly path: string;
  readonly variables: readonly PathVariable[];
}

export function openApiPath(template: string): OpenApiPath {
  const { body, verb } = splitVerb(template);
  const variables: PathVariable[] = [];
  const out: string[] = [];
  for (const segment of splitSegments(body)) {
    if (segment.startsWith('{') && segment.endsWith('}')) {
      const inner = segment.slice(1, -1);
      const eq = inner.indexOf('=');
      const name = eq === -1 ? inner : inner.slice(0, eq);
      const segments = eq === -1 ? '*' : inner.slice(eq + 1);
      const multi = segments !== '*';
      variables.push({
        name,
        fieldPath: name.split('.'),
        pattern: multi ? `^${segments.split('/').map(segmentPattern).join('/')}$` : undefined,
        segments,
      });
      out.push(`{${name}}`);
    } else if (segment === '*' || segment === '**') {
      const name = `wildcard${variables.filter((v) => !v.fieldPath).length + 1}`;
      const multi = segment === '**';
      variables.push({ name, fieldPath: undefined, pattern: multi ? '^.*$' : undefined, segments: segment });
      out.push(`{${name}}`);
    } else {
      out.push(segment);
    }
  }
  return { path: `/${out.join('/')}${verb ? `:${verb}` : ''}`, variables };
}

/** Splits off a trailing ":verb" that is outside every variable. */
function splitVerb(template: string): { body: string; verb: string } {
  let depth = 0;
  let lastSlash = -1;
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === '/' && depth === 0) lastSlash = i;
  }
  const colon = template.indexOf(':', lastSlash + 1);
  // A colon inside the last segment's variable ("{x=a:b}" is no valid template anyway) is not a verb.
  if (colon === -1 || template.indexOf('}', colon) !== -1) return { body: template, verb: '' };
  return { body: template.slice(0, colon), verb: template.slice(colon + 1) };
}

/** The segments of "/a/{b=c/*}/d", keeping a variable's own slashes inside it. */
function splitSegments(body: string): string[] {
  const segments: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of body.slice(1)) {
    if (c === '/' && depth === 0) {
      segments.push(current);
      current = '';
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}') depth--;
    current += c;
  }
  if (current !== '' || segments.length > 0) segments.push(current);
  return segments;
}

function segmentPattern(segment: string): string {
  if (segment === '*') return '[^/]+';
  if (segment === '**') return '.*';
  return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
