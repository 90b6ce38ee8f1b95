import { readFileSync } from 'node:fs';
import type { PeerIdentity } from '../../core/context.ts';
import { TokenBook } from '../../governance/token-book.ts';
import { matchesAny, type NamePattern, readPatterns } from './patterns.ts';

/**
 * Who may do what on the hub. Configuration, as a plain object or the path of a JSON file:
 *
 *   {
 *     "tokens": { "<token>": { "name": "orders" }, "sha256:<hex>": { "name": "ci" } },
 *     "grants": [
 *       { "who": "orders", "write": ["shop.v1.Orders"], "read": ["shop.v1.*"], "publish": ["shop.orders.*"] },
 *       { "who": "spiffe://shop.local/service/*", "read": "*", "subscribe": "shop.*" },
 *       { "who": "ops", "dashboard": true, "telemetry": true }
 *     ]
 *   }
 *
 * docs/security.md#hub-access explains every field.
 */
export interface HubAccessConfig {
  /** Bearer tokens and the caller name each stands for. A key `sha256:<hex>` holds the token's digest. */
  tokens?: Record<string, { name: string }>;
  grants: HubGrantConfig[];
}

export interface HubGrantConfig {
  /**
   * Callers this grant is for: a name (a token's name, a certificate's URI, DNS name or
   * common name, `*` wildcards allowed), `*` for every authenticated caller, `anonymous` for
   * every caller, credential or not.
   */
  who: string | string[];
  /** Services whose instances the caller may list, get and watch. */
  read?: NamePattern | NamePattern[];
  /** Services the caller may register, heartbeat and deregister. */
  write?: NamePattern | NamePattern[];
  /** Topics the caller may publish to. */
  publish?: NamePattern | NamePattern[];
  /** Topics the caller may consume. */
  subscribe?: NamePattern | NamePattern[];
  /** The dashboard page, its data, traces and /metrics. */
  dashboard?: boolean;
  /** Spans (POST /v1/traces) for any service, and ejection reports. */
  telemetry?: boolean;
}

/** What a caller asks to do; the resource is a service name or a topic. */
export type HubAction = 'read' | 'write' | 'publish' | 'subscribe' | 'dashboard' | 'telemetry' | 'connect';

/** A caller of the hub: whom a token or a certificate names, or nobody. */
export type HubCaller =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'token'; readonly name: string }
  | { readonly kind: 'certificate'; readonly identity: PeerIdentity };

export const ANONYMOUS: HubCaller = { kind: 'anonymous' };

/** The result of reading a credential: a caller, or a credential the policy does not know. */
export type Authentication = { ok: true; caller: HubCaller } | { ok: false; reason: string };

interface Grant {
  who: string[];
  read: NamePattern[];
  write: NamePattern[];
  publish: NamePattern[];
  subscribe: NamePattern[];
  dashboard: boolean;
  telemetry: boolean;
}

export class HubAccessPolicy {
  readonly #tokens: TokenBook;
  readonly #grants: Grant[];

  constructor(config: HubAccessConfig) {
    if (typeof config !== 'object' || config === null) throw new TypeError('hub access: expected an object');
    for (const key of Object.keys(config)) {
      if (key !== 'tokens' && key !== 'grants') throw new TypeError(`hub access: unknown field "${key}"`);
    }
    this.#tokens = new TokenBook(config.tokens, 'hub access: tokens');
    if (!Array.isArray(config.grants)) throw new TypeError('hub access: grants: expected a list');
    this.#grants = config.grants.map((grant, i) => readGrant(grant, `hub access: grants[${i}]`));
  }

  /** The policy in a JSON file, or the object itself. */
  static from(source: HubAccessConfig | string | HubAccessPolicy): HubAccessPolicy {
    if (source instanceof HubAccessPolicy) return source;
    if (typeof source !== 'string') return new HubAccessPolicy(source);
    let config: unknown;
    try {
      config = JSON.parse(readFileSync(source, 'utf8'));
    } catch (err) {
      throw new Error(`hub access: cannot read ${source}: ${(err as Error).message}`);
    }
    return new HubAccessPolicy(config as HubAccessConfig);
  }

  /**
   * The caller a bearer token or a verified certificate names. A token wins over a
   * certificate; an unknown token is refused rather than treated as no token.
   */
  authenticate(token: string | undefined, certificate: PeerIdentity | undefined): Authentication {
    if (token !== undefined) {
      const name = this.#tokens.lookup(token);
      return name === undefined
        ? { ok: false, reason: 'unknown token' }
        : { ok: true, caller: { kind: 'token', name } };
    }
    if (certificate) return { ok: true, caller: { kind: 'certificate', identity: certificate } };
    return { ok: true, caller: ANONYMOUS };
  }

  /**
   * Whether `caller` may do `action` (on `resource`, for read/write/publish/subscribe);
   * `ignoreCase` compares resources in any case (Eureka's app names).
   */
  authorize(caller: HubCaller, action: HubAction, resource = '', ignoreCase = false): boolean {
    const names = callerNames(caller);
    for (const grant of this.#grants) {
      if (!grant.who.some((who) => whoMatches(who, caller, names))) continue;
      switch (action) {
        case 'connect':
          return true;
        case 'dashboard':
        case 'telemetry':
          if (grant[action]) return true;
          break;
        default:
          if (matchesAny(grant[action], resource, ignoreCase)) return true;
      }
    }
    return false;
  }
}

/** A caller's display name, for logs and messages. */
export function callerName(caller: HubCaller): string {
  if (caller.kind === 'anonymous') return 'anonymous';
  return caller.kind === 'token' ? caller.name : caller.identity.name;
}

function callerNames(caller: HubCaller): string[] {
  if (caller.kind === 'anonymous') return [];
  if (caller.kind === 'token') return [caller.name];
  const { name, uris, dnsNames, commonName } = caller.identity;
  return [name, ...uris, ...dnsNames, ...(commonName === undefined ? [] : [commonName])];
}

function whoMatches(who: string, caller: HubCaller, names: string[]): boolean {
  if (who === 'anonymous') return true;
  if (caller.kind === 'anonymous') return false;
  return who === '*' || names.some((name) => matchesAny([who], name));
}

function readGrant(value: unknown, where: string): Grant {
  if (typeof value !== 'object' || value === null) throw new TypeError(`${where}: expected an object`);
  const g = value as Record<string, unknown>;
  const known = new Set(['who', 'read', 'write', 'publish', 'subscribe', 'dashboard', 'telemetry']);
  for (const key of Object.keys(g)) {
    if (!known.has(key)) throw new TypeError(`${where}: unknown field "${key}"`);
  }
  const who = readPatterns(g.who, `${where}.who`);
  if (who.length === 0) throw new TypeError(`${where}.who: expected whom the grant is for`);
  for (const flag of ['dashboard', 'telemetry'] as const) {
    if (g[flag] !== undefined && typeof g[flag] !== 'boolean') {
      throw new TypeError(`${where}.${flag}: expected true or false`);
    }
  }
  return {
    who,
    read: readPatterns(g.read, `${where}.read`),
    write: readPatterns(g.write, `${where}.write`),
    publish: readPatterns(g.publish, `${where}.publish`),
    subscribe: readPatterns(g.subscribe, `${where}.subscribe`),
    dashboard: g.dashboard === true,
    telemetry: g.telemetry === true,
  };
}
