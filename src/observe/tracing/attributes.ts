/**
 * The span attributes Switchboard records, after the OpenTelemetry RPC and messaging semantic
 * conventions. The names are spelled out here rather than imported from
 * `@opentelemetry/semantic-conventions/incubating`, which may rename them in any minor release.
 */
import type { Attributes } from '@opentelemetry/api';
import type { MethodDescriptor } from '../../contract/descriptors.ts';

export const ATTR_RPC_SYSTEM = 'rpc.system';
export const ATTR_RPC_SERVICE = 'rpc.service';
export const ATTR_RPC_METHOD = 'rpc.method';
export const ATTR_RPC_GRPC_STATUS_CODE = 'rpc.grpc.status_code';
export const ATTR_NETWORK_PROTOCOL_NAME = 'network.protocol.name';
export const ATTR_NETWORK_PEER_ADDRESS = 'network.peer.address';
export const ATTR_NETWORK_PEER_PORT = 'network.peer.port';

export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name';
/** No convention covers a generic broker's delivery count: Switchboard's own, 1 on the first delivery. */
export const ATTR_DELIVERY_ATTEMPT = 'switchboard.delivery.attempt';
/** How the consumer settled the delivery: ack, nack or term. */
export const ATTR_DELIVERY_OUTCOME = 'switchboard.delivery.outcome';

/**
 * `rpc.system` of a call: 'grpc' when it travels as gRPC. Over HTTP/REST, the native transport
 * and in-process calls it is 'switchboard' (the call keeps gRPC semantics and status codes but
 * is not the gRPC wire protocol), and `network.protocol.name` says which wire carried it.
 */
export const RPC_SYSTEM_SWITCHBOARD = 'switchboard';

/** `network.protocol.name` per transport; gRPC needs none, `rpc.system` says it all. */
const PROTOCOL_OF: Readonly<Record<string, string>> = {
  http: 'http',
  native: 'switchboard-native',
  inproc: 'inproc',
  queue: 'switchboard-queue',
};

/** The attributes of a call of `method` over `transport` (undefined when the caller cannot tell). */
export function rpcAttributes(method: MethodDescriptor, transport: string | undefined): Attributes {
  const attributes: Attributes = {
    [ATTR_RPC_SYSTEM]: transport === 'grpc' ? 'grpc' : RPC_SYSTEM_SWITCHBOARD,
    [ATTR_RPC_SERVICE]: method.service.fullName,
    [ATTR_RPC_METHOD]: method.name,
  };
  const protocol = transport === undefined ? undefined : PROTOCOL_OF[transport];
  if (protocol) attributes[ATTR_NETWORK_PROTOCOL_NAME] = protocol;
  return attributes;
}

/** "greet.Greeter/SayHello": the span name the RPC conventions ask for. */
export function rpcSpanName(method: MethodDescriptor): string {
  return method.path.slice(1);
}
