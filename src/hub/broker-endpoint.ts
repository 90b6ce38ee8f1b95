import { ServiceHost } from '../core/host.ts';
import type { ListenAddress } from '../core/transport.ts';
import type { Broker } from '../messaging/broker.ts';
import { BrokerService } from '../services/broker/broker-service.ts';
import { BrokerAccess } from './access/broker-access.ts';
import type { HubAccessPolicy } from './access/policy.ts';

export { DEFAULT_HUB_BROKER_PORT } from '../services/broker/contract.ts';

import { HealthService } from '../services/health.ts';
import { NativeServer } from '../transports/native/server.ts';
import type { ServerTlsOptions } from '../transports/tls/server-tls.ts';

/** Largest message the broker port takes: a publish batch of big payloads. */
const MAX_MESSAGE_BYTES = 64 << 20;

/** Consume streams never end by themselves: how long publishes in flight get to finish. */
const CLOSE_GRACE_MS = 1_000;

/**
 * The hub's broker port: a Broker served as switchboard.broker.v1.Broker (and the standard
 * health service) over the native transport, Switchboard's fastest, beside the HTTP port.
 */
export class BrokerEndpoint {
  readonly broker: Broker;
  readonly service: BrokerService;
  readonly #server: NativeServer;

  /** With `access`, callers need a token or certificate the policy grants publish/subscribe. */
  constructor(broker: Broker, host: string, port: number, access?: HubAccessPolicy, tls?: ServerTlsOptions) {
    this.broker = broker;
    const guard = access ? new BrokerAccess(access) : undefined;
    const services = new ServiceHost({ interceptors: guard ? [guard.interceptor()] : [] });
    this.service = new BrokerService(broker, {
      authorize: guard ? (ctx, action, topic) => guard.authorize(ctx, action, topic) : undefined,
    }).addTo(services);
    new HealthService().addTo(services);
    this.#server = new NativeServer(services, { host, port, maxMessageBytes: MAX_MESSAGE_BYTES, tls });
  }

  listen(): Promise<ListenAddress> {
    return this.#server.listen();
  }

  /** Ends the members' streams (they rejoin elsewhere or later), then closes the broker. */
  async close(): Promise<void> {
    await this.#server.close(CLOSE_GRACE_MS);
    await this.broker.close();
  }
}
