import { StatusError } from '../contract/errors.ts';
import { Status } from '../contract/status.ts';
import type { CallContext, PeerIdentity } from '../core/context.ts';
import type { ServerInterceptor } from '../core/interceptors.ts';
import { matchesAny, type NamePattern, readPatterns } from '../governance/name-pattern.ts';
import { bearerToken, TokenBook } from '../governance/token-book.ts';

/**
 * Which callers may call which methods of a server, the same on every transport
 * (docs/security.md#access-control):
 *
 *   accessPolicy({
 *     rules: [
 *       { callers: ['spiffe://shop.local/service/gateway'], methods: ['shop.v1.Orders/*'] },
 *       { callers: ['*'], methods: ['shop.v1.Catalog/ListProducts'] },
 *     ],
 *   })
 */
export interface AccessPolicyOptions {
  rules: AccessRule[];
  /** What a call no rule allows gets: refused unless 'allow' (then rules only document). */
  default?: 'deny' | 'allow';
  /**
   * Methods anyone may call, identity or not: health checks and reflection unless set
   * (`grpc.health.v1.Health/*`, `grpc.reflection.*`); [] guards them too.
   */
  open?: NamePattern[];
  /**
   * Bearer tokens (`authorization` metadata) that stand for a caller name, for callers without
   * a client certificate; keys may be `sha256:<hex>` digests. A certificate wins over a token.
   */
  tokens?: Record<string, { name: string }>;
}

export interface AccessRule {
  /**
   * Who: a certificate's URI (`spiffe://…/service/gateway`), DNS name or common name, a token's
   * name; `*` wildcards allowed; `*` alone is any identified caller; `anonymous` is anyone.
   */
  callers: NamePattern[];
  /** What: `package.Service/Method`, `package.Service/*`, `package.*`. */
  methods: NamePattern[];
}

/** Health and reflection stay reachable by probes and tools without an identity. */
export const DEFAULT_OPEN_METHODS: readonly NamePattern[] = [
  'grpc.health.v1.Health/*',
  'grpc.reflection.v1.ServerReflection/*',
  'grpc.reflection.v1alpha.ServerReflection/*',
];

/** A caller as the rules see it: the names it answers to, or none (anonymous). */
export interface AccessCaller {
  /** The name for messages: the identity's name or the token's. */
  readonly name: string | undefined;
  /** Every name rules match against: name, URIs, DNS names, common name. */
  readonly names: readonly string[];
}

export const ANONYMOUS_CALLER: AccessCaller = { name: undefined, names: [] };

/** The rules, checked: pure, no I/O, shared by the interceptor and tests. */
export class AccessRules {
  readonly #rules: { callers: NamePattern[]; methods: NamePattern[] }[];
  readonly #allowByDefault: boolean;
  readonly #open: readonly NamePattern[];

  constructor(options: AccessPolicyOptions) {
    if (!Array.isArray(options?.rules)) throw new TypeError('access: rules: expected a list');
    this.#rules = options.rules.map((rule, i) => {
      const callers = readPatterns(rule?.callers, `access: rules[${i}].callers`);
      const methods = readPatterns(rule?.methods, `access: rules[${i}].methods`);
      if (callers.length === 0 || methods.length === 0) {
        throw new TypeError(`access: rules[${i}]: expected callers and methods`);
      }
      return { callers, methods };
    });
    const fallback = options.default ?? 'deny';
    if (fallback !== 'deny' && fallback !== 'allow') {
      throw new TypeError(`access: default: expected "deny" or "allow", got ${JSON.stringify(fallback)}`);
    }
    this.#allowByDefault = fallback === 'allow';
    this.#open =
      options.open === undefined ? DEFAULT_OPEN_METHODS : readPatterns(options.open, 'access: open');
  }

  /** Whether `caller` may call `method` ("package.Service/Method"). */
  allows(caller: AccessCaller, method: string): boolean {
    if (matchesAny(this.#open, method)) return true;
    for (const rule of this.#rules) {
      if (matchesAny(rule.methods, method) && rule.callers.some((who) => callerMatches(who, caller)))
        return true;
    }
    return this.#allowByDefault;
  }
}

/** The names a certificate identity answers to. */
export function callerOf(identity: PeerIdentity): AccessCaller {
  const { name, uris, dnsNames, commonName } = identity;
  return { name, names: [name, ...uris, ...dnsNames, ...(commonName === undefined ? [] : [commonName])] };
}

/**
 * A server interceptor enforcing `options`: a call no rule allows is refused before its
 * handler runs, with PERMISSION_DENIED (HTTP 403) for an identified caller and
 * UNAUTHENTICATED (HTTP 401) for one without identity or with an unknown token.
 */
export function accessPolicy(options: AccessPolicyOptions): ServerInterceptor {
  const rules = new AccessRules(options);
  const tokens = options.tokens ? new TokenBook(options.tokens, 'access: tokens') : undefined;
  return (ctx, next) => {
    const method = ctx.method.path.slice(1);
    let caller: AccessCaller;
    try {
      caller = callerOfCall(ctx, tokens);
    } catch (err) {
      return Promise.reject(err);
    }
    if (rules.allows(caller, method)) return next();
    return Promise.reject(
      caller.name === undefined
        ? new StatusError(Status.UNAUTHENTICATED, `${method} needs an authenticated caller`)
        : new StatusError(Status.PERMISSION_DENIED, `${caller.name} may not call ${method}`),
    );
  };
}

function callerOfCall(ctx: CallContext, tokens: TokenBook | undefined): AccessCaller {
  if (ctx.identity) return callerOf(ctx.identity);
  if (!tokens) return ANONYMOUS_CALLER;
  const authorization = ctx.metadata.getString('authorization');
  if (authorization === undefined) return ANONYMOUS_CALLER;
  const token = bearerToken(authorization);
  const name = token === undefined ? undefined : tokens.lookup(token);
  if (name === undefined) throw new StatusError(Status.UNAUTHENTICATED, 'unknown token');
  return { name, names: [name] };
}

function callerMatches(who: NamePattern, caller: AccessCaller): boolean {
  if (who === 'anonymous') return true;
  if (caller.name === undefined) return false;
  return who === '*' || caller.names.some((name) => matchesAny([who], name));
}
