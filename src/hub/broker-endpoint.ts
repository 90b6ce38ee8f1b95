import { ServiceHost } from '../core/host.ts';
import type { ListenAddress } from '../core/transport.ts';
import type { Broker } from '../messaging/broker.ts';
import { BrokerService } from '../services/broker/broker-service.ts';
import { BrokerAccess } from './access/broker-access.ts';
import type { HubAccessPolicy } from './access/policy.ts';

export { DEFAULT_HUB_BROKER_PORT } from '../services/broker/contract.ts';

import { HealthService } from '../services/health.ts';
import type { ConnectionLimits } from '../transports/listener-limits.ts';
import { NativeServer } from '../transports/native/server.ts';
import type { ServerTlsOptions } from '../transports/tls/server-tls.ts';

/** Largest message the broker port takes: a publish batch of big payloads. */
const MAX_MESSAGE_BYTES = 64 << 20;

/** Consume streams never end by themselves: how long publishes in flight get to finish. */
const CLOSE_GRACE_MS = 1_000;

export interface BrokerEndpointOptions extends ConnectionLimits {
  host: string;
  port: number;
  /** Callers need a token or certificate the policy grants publish/subscribe. Open unless set. */
  access?: HubAccessPolicy;
  tls?: ServerTlsOptions;
}

/**
 * The hub's broker port: a Broker served as switchboard.broker.v1.Broker (and the standard
 * health service) over the native transport, Switchboard's fastest, beside the HTTP port.
 */
export class BrokerEndpoint {
  readonly broker: Broker;
  readonly service: BrokerService;
  readonly #server: NativeServer;

  constructor(broker: Broker, options: BrokerEndpointOptions) {
    this.broker = broker;
    const guard = options.access ? new BrokerAccess(options.access) : undefined;
    const services = new ServiceHost({ interceptors: guard ? [guard.interceptor()] : [] });
    this.service = new BrokerService(broker, {
      authorize: guard ? (ctx, action, topic) => guard.authorize(ctx, action, topic) : undefined,
    }).addTo(services);
    new HealthService().addTo(services);
    // The native server applies the connection limits itself (it owns its net.Server).
    this.#server = new NativeServer(services, {
      host: options.host,
      port: options.port,
      maxMessageBytes: MAX_MESSAGE_BYTES,
      tls: options.tls,
      maxConnections: options.maxConnections,
      tlsHandshakeTimeoutMs: options.tlsHandshakeTimeoutMs,
    });
  }

  /** Open connections on the broker port. */
  get connectionCount(): number {
    return this.#server.connectionCount;
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
