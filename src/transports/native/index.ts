export { NativeClientTransport, parseTarget } from './client.ts';
export {
  DEFAULT_MAX_CONCURRENT_STREAMS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_METADATA_BYTES,
  DEFAULT_WINDOW_BYTES,
  type NativeClientOptions,
  type NativeClientTlsOptions,
  type NativeServerOptions,
  type NativeServerTlsOptions,
} from './options.ts';
export { NativeServer } from './server.ts';
