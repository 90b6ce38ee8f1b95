import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import type { CallContext } from '../../core/context.ts';
import type { ServerInterceptor } from '../../core/interceptors.ts';
import { bearerToken } from '../../governance/token-book.ts';
import { callerName, type HubAccessPolicy, type HubCaller } from './policy.ts';

/** The services of the broker port anyone may call: health checks carry no credential. */
const OPEN_SERVICES = new Set(['grpc.health.v1.Health']);

/**
 * Access control on the hub's broker port (native transport). The interceptor reads the
 * caller once per call, from the `authorization` metadata (`Bearer <token>`) or the
 * connection's certificate, and refuses unknown tokens (UNAUTHENTICATED); BrokerService asks
 * `authorize` for the topic of each Publish and Consume, which the interceptor cannot see.
 */
export class BrokerAccess {
  readonly #policy: HubAccessPolicy;
  readonly #callers = new WeakMap<CallContext, HubCaller>();

  constructor(policy: HubAccessPolicy) {
    this.#policy = policy;
  }

  interceptor(): ServerInterceptor {
    return (ctx, next) => {
      if (OPEN_SERVICES.has(ctx.method.service.fullName)) return next();
      const result = this.#policy.authenticate(tokenOf(ctx), ctx.identity);
      if (!result.ok) {
        return Promise.reject(
          new StatusError(
            Status.UNAUTHENTICATED,
            `the hub's broker does not know this credential (${result.reason})`,
          ),
        );
      }
      this.#callers.set(ctx, result.caller);
      return next();
    };
  }

  /** Throws UNAUTHENTICATED (no credential) or PERMISSION_DENIED unless the call may `action` `topic`. */
  authorize(ctx: CallContext, action: 'publish' | 'subscribe', topic: string): void {
    const caller = this.#callers.get(ctx) ?? { kind: 'anonymous' };
    if (this.#policy.authorize(caller, action, topic)) return;
    const verb = action === 'publish' ? 'publish to' : 'consume';
    if (caller.kind === 'anonymous') {
      throw new StatusError(
        Status.UNAUTHENTICATED,
        `the hub's broker needs a credential to ${verb} ${topic}`,
      );
    }
    throw new StatusError(Status.PERMISSION_DENIED, `${callerName(caller)} may not ${verb} ${topic}`);
  }
}

/** `Bearer <token>`; any other value is taken as the token itself, so it is refused as unknown. */
function tokenOf(ctx: CallContext): string | undefined {
  const value = ctx.metadata.getString('authorization');
  return value === undefined ? undefined : (bearerToken(value) ?? value.trim());
}
