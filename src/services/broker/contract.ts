import path from 'node:path';
import { type Contract, loadContractSync } from '../../contract/contract.ts';
import type { MethodDescriptor, ServiceDescriptor } from '../../contract/descriptors.ts';
import { BUNDLED_PROTO_DIR } from '../../contract/paths.ts';
import type { BidiStreamingMethod, Message, UnaryMethod } from '../../core/types.ts';
import { ConsumeRequestType, ConsumeResponseType } from './consume-codec.ts';

export const BROKER_SERVICE_NAME = 'switchboard.broker.v1.Broker';

/** Where a hub serves its broker unless told otherwise: its HTTP port (7070) + 1. */
export const DEFAULT_HUB_BROKER_PORT = 7071;

/** Settle outcomes as the wire carries them (switchboard.broker.v1.Outcome). */
export const Outcome = { ACK: 1, NACK: 2, TERM: 3, FAIL: 4 } as const;

/** switchboard.broker.v1.Broker's methods, for typing the service and its client. */
export type BrokerMethods = {
  publish: UnaryMethod<Message, Message>;
  consume: BidiStreamingMethod<Message, Message>;
};

/** Most messages one Publish may carry; the client's batches stay far below. */
export const MAX_PUBLISH_BATCH = 10_000;

let contract: Contract | undefined;

/** The bundled switchboard/broker/v1/broker.proto, loaded once. */
export function brokerContract(): Contract {
  contract ??= loadContractSync(path.join(BUNDLED_PROTO_DIR, 'switchboard/broker/v1/broker.proto'));
  return contract;
}

let service: ServiceDescriptor | undefined;

/**
 * switchboard.broker.v1.Broker as the hub serves it and HubBroker calls it: the bundled
 * contract's, with the Consume stream's messages encoded and decoded by consume-codec.ts.
 */
export function brokerService(): ServiceDescriptor {
  if (service) return service;
  const base = brokerContract().service(BROKER_SERVICE_NAME);
  const methods: MethodDescriptor[] = [];
  const byName = new Map<string, MethodDescriptor>();
  const descriptor: ServiceDescriptor = {
    name: base.name,
    fullName: base.fullName,
    methods,
    method: (name) => byName.get(name),
  };
  for (const m of base.methods) {
    const method: MethodDescriptor =
      m.name === 'Consume'
        ? {
            ...m,
            service: descriptor,
            input: new ConsumeRequestType(m.input),
            output: new ConsumeResponseType(m.output),
          }
        : { ...m, service: descriptor };
    methods.push(method);
    byName.set(method.name, method);
    byName.set(method.localName, method);
  }
  service = descriptor;
  return descriptor;
}
