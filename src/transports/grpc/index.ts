/**
 * The gRPC transport: the gRPC protocol over node:http2, server and client, interoperable with
 * grpc-js, grpc-go and Python grpcio (identity, gzip and deflate understood; nothing compressed).
 */
export {
  type GrpcClientOptions,
  type GrpcClientTlsOptions,
  GrpcClientTransport,
  type GrpcKeepaliveOptions,
} from './client.ts';
export { DEFAULT_MAX_MESSAGE_BYTES, encodeFrame, FrameDecoder, type FrameSink } from './framing.ts';
export { decodeGrpcMessage, encodeGrpcMessage } from './grpc-message.ts';
export { GrpcServer, type GrpcServerOptions, type GrpcServerTlsOptions } from './server.ts';
export { decodeStatusDetails, encodeStatusDetails, type RichStatus } from './status-details.ts';
