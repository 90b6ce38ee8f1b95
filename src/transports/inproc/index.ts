export { type InprocClientOptions, InprocTransport } from './client.ts';
export { InprocServer, type InprocServerOptions } from './server.ts';
