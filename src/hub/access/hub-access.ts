import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { peerIdentity } from '../../transports/tls/peer-identity.ts';
import { HubHttpError } from '../http-kit.ts';
import {
  callerName,
  type HubAccessConfig,
  HubAccessPolicy,
  type HubAction,
  type HubCaller,
} from './policy.ts';

/** Where a hub API may look for a token besides `Authorization`. */
export interface CredentialSources {
  /** Consul's: the `X-Consul-Token` header and the `?token=` parameter. */
  consul?: boolean;
  /** Resources compared in any case: Eureka's app names are. */
  ignoreCase?: boolean;
}

const CHALLENGE = 'Bearer realm="switchboard-hub"';

/**
 * The hub's HTTP gate: every API asks it before it reads or changes anything. Without a
 * policy everything is allowed (the hub as it always was). With one, a request without a
 * credential the policy grants gets 401 and `WWW-Authenticate: Bearer`, an unknown token 401,
 * a known caller without the grant 403.
 */
export class HubAccess {
  readonly policy: HubAccessPolicy | undefined;
  readonly #callers = new WeakMap<IncomingMessage, HubCaller>();

  constructor(policy?: HubAccessPolicy | HubAccessConfig | string) {
    this.policy = policy === undefined ? undefined : HubAccessPolicy.from(policy);
  }

  get enabled(): boolean {
    return this.policy !== undefined;
  }

  /** Throws 401/403 (a HubHttpError) unless the request's caller may do `action` on `resource`. */
  require(
    req: IncomingMessage,
    res: ServerResponse,
    action: HubAction,
    resource?: string,
    sources: CredentialSources = {},
  ): void {
    const policy = this.policy;
    if (!policy) return;
    const caller = this.#caller(req, res, sources);
    if (policy.authorize(caller, action, resource, sources.ignoreCase)) return;
    if (caller.kind === 'anonymous') {
      res.setHeader('www-authenticate', CHALLENGE);
      throw new HubHttpError(401, `the hub needs a credential to ${describe(action, resource)}`);
    }
    throw new HubHttpError(403, `${callerName(caller)} may not ${describe(action, resource)}`);
  }

  /** Whether the request's caller may do `action` on `resource`; throws 401 for an unknown token. */
  allows(
    req: IncomingMessage,
    res: ServerResponse,
    action: HubAction,
    resource?: string,
    sources: CredentialSources = {},
  ): boolean {
    const policy = this.policy;
    if (!policy) return true;
    return policy.authorize(this.#caller(req, res, sources), action, resource, sources.ignoreCase);
  }

  /** The request's caller, read once per request. */
  #caller(req: IncomingMessage, res: ServerResponse, sources: CredentialSources): HubCaller {
    const known = this.#callers.get(req);
    if (known) return known;
    const policy = this.policy as HubAccessPolicy;
    const result = policy.authenticate(requestToken(req, sources), peerIdentity(req.socket as TLSSocket));
    if (!result.ok) {
      res.setHeader('www-authenticate', `${CHALLENGE}, error="invalid_token"`);
      throw new HubHttpError(401, `the hub does not know this credential (${result.reason})`);
    }
    this.#callers.set(req, result.caller);
    return result.caller;
  }
}

/** No policy: the gate of a hub without access control. */
export const OPEN_ACCESS = new HubAccess();

/**
 * The token a request carries: `Authorization: Bearer <token>`, or Basic with the token as the
 * password (Eureka clients put credentials in the URL: http://name:<token>@hub:7070/eureka),
 * and for Consul clients `X-Consul-Token` or `?token=`.
 */
export function requestToken(req: IncomingMessage, sources: CredentialSources = {}): string | undefined {
  const authorization = req.headers.authorization;
  if (authorization !== undefined) {
    const [scheme, value = ''] = authorization.trim().split(/\s+/, 2);
    if (/^bearer$/i.test(scheme ?? '')) return value;
    if (/^basic$/i.test(scheme ?? '')) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon < 0 ? decoded : decoded.slice(colon + 1);
    }
    return authorization;
  }
  if (sources.consul) {
    const header = req.headers['x-consul-token'];
    if (typeof header === 'string' && header !== '') return header;
    const query = new URL(req.url ?? '/', 'http://hub').searchParams.get('token');
    if (query) return query;
  }
  return undefined;
}

function describe(action: HubAction, resource: string | undefined): string {
  switch (action) {
    case 'read':
      return `read ${resource}`;
    case 'write':
      return `register or deregister instances of ${resource}`;
    case 'publish':
      return `publish to ${resource}`;
    case 'subscribe':
      return `consume ${resource}`;
    case 'dashboard':
      return 'see the dashboard, traces or metrics';
    case 'telemetry':
      return `report telemetry${resource ? ` for ${resource}` : ''}`;
    case 'connect':
      return 'use the hub';
  }
}
