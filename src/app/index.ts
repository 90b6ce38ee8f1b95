export {
  type ConnectedClient,
  clientTransport,
  connect,
  parseTarget,
  type TlsClientOptions,
  TRANSPORT_KINDS,
  type TransportKind,
  type TransportOptions,
} from './connect.ts';
export { Server, type ServerAddresses, type ServerOptions } from './server.ts';
