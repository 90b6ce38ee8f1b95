import type { PathTemplate } from './path-template.ts';

/** What a route lookup found. `segments` are the request path's (verb removed), for variables. */
export type RouteResult<T> =
  | { readonly kind: 'found'; readonly value: T; readonly segments: readonly string[] }
  /** The path is served, but not with this HTTP method. */
  | { readonly kind: 'wrong-method'; readonly allowed: readonly string[] }
  | { readonly kind: 'not-found' };

type ByMethod<T> = Map<string, T>;
/** Routes ending at a trie node, by custom verb ("" for none), then by HTTP method. */
type Ends<T> = Map<string, ByMethod<T>>;

interface TrieNode<T> {
  literal?: Map<string, TrieNode<T>>;
  single?: TrieNode<T>;
  /** Routes whose template ends in `**` at this node. */
  rest?: Ends<T>;
  ends?: Ends<T>;
}

const NO_SEGMENTS: readonly string[] = [];
const NOT_FOUND = { kind: 'not-found' } as const;

/**
 * Routes requests to values by HTTP method and path template. Fully literal templates are one
 * Map lookup on the raw path; the others walk a trie of segments where a literal segment beats
 * `*`, which beats `**` (the most specific route wins), backtracking when a branch fails.
 */
export class Router<T> {
  readonly #literal = new Map<string, ByMethod<T>>();
  readonly #root: TrieNode<T> = {};
  #hasTemplates = false;

  /** Adds a route; a second route with the same method and template is a contract error. */
  add(method: string, template: PathTemplate, value: T): void {
    const verb = method.toUpperCase();
    if (template.literal) {
      const path = literalPath(template);
      let byMethod = this.#literal.get(path);
      if (!byMethod) {
        byMethod = new Map();
        this.#literal.set(path, byMethod);
      }
      if (byMethod.has(verb)) throw new Error(`duplicate HTTP route ${verb} ${template.source}`);
      byMethod.set(verb, value);
      return;
    }
    this.#hasTemplates = true;
    let node = this.#root;
    let ends: 'ends' | 'rest' = 'ends';
    for (const segment of template.segments) {
      if (segment.kind === 'literal') {
        node.literal ??= new Map();
        let next = node.literal.get(segment.value);
        if (!next) {
          next = {};
          node.literal.set(segment.value, next);
        }
        node = next;
      } else if (segment.kind === 'single') {
        node.single ??= {};
        node = node.single;
      } else {
        ends = 'rest';
      }
    }
    node[ends] ??= new Map();
    const endsMap = node[ends] as Ends<T>;
    let byMethod = endsMap.get(template.verb);
    if (!byMethod) {
      byMethod = new Map();
      endsMap.set(template.verb, byMethod);
    }
    if (byMethod.has(verb)) throw new Error(`duplicate HTTP route ${verb} ${template.source}`);
    byMethod.set(verb, value);
  }

  /** `path` is the raw request path, without the query string. */
  match(method: string, path: string): RouteResult<T> {
    const exact = this.#literal.get(path);
    if (exact) {
      const value = exact.get(method) ?? (method === 'HEAD' ? exact.get('GET') : undefined);
      if (value !== undefined) return { kind: 'found', value, segments: NO_SEGMENTS };
    }
    const allowed = new Set<string>(exact?.keys());
    if (this.#hasTemplates && path.charCodeAt(0) === 47 /* "/" */) {
      const segments = path === '/' ? [] : path.slice(1).split('/');
      const last = segments.at(-1);
      const colon = last === undefined ? -1 : last.lastIndexOf(':');
      if (colon !== -1) {
        // "name:verb": first as a custom verb, then as a plain segment that contains a colon.
        const withVerb = segments.slice(0, -1);
        withVerb.push((last as string).slice(0, colon));
        const found = this.#walk(this.#root, withVerb, 0, (last as string).slice(colon + 1), method, allowed);
        if (found !== undefined) return { kind: 'found', value: found, segments: withVerb };
      }
      const found = this.#walk(this.#root, segments, 0, '', method, allowed);
      if (found !== undefined) return { kind: 'found', value: found, segments };
    }
    if (allowed.size > 0) return { kind: 'wrong-method', allowed: [...allowed] };
    return NOT_FOUND;
  }

  #walk(
    node: TrieNode<T>,
    segments: readonly string[],
    i: number,
    verb: string,
    method: string,
    allowed: Set<string>,
  ): T | undefined {
    if (i === segments.length) {
      return pick(node.ends, verb, method, allowed) ?? pick(node.rest, verb, method, allowed);
    }
    const child = node.literal?.get(segments[i] as string);
    if (child) {
      const found = this.#walk(child, segments, i + 1, verb, method, allowed);
      if (found !== undefined) return found;
    }
    if (node.single) {
      const found = this.#walk(node.single, segments, i + 1, verb, method, allowed);
      if (found !== undefined) return found;
    }
    return pick(node.rest, verb, method, allowed);
  }
}

function pick<T>(
  ends: Ends<T> | undefined,
  verb: string,
  method: string,
  allowed: Set<string>,
): T | undefined {
  const byMethod = ends?.get(verb);
  if (!byMethod) return undefined;
  const value = byMethod.get(method) ?? (method === 'HEAD' ? byMethod.get('GET') : undefined);
  if (value === undefined) for (const m of byMethod.keys()) allowed.add(m);
  return value;
}

function literalPath(template: PathTemplate): string {
  const path = `/${template.segments.map((s) => (s.kind === 'literal' ? s.value : '')).join('/')}`;
  return template.verb ? `${path}:${template.verb}` : path;
}
