/** TLS shared by the transports: identities from client certificates, PEM files and their rotation. */
export { type ClientTlsMaterial, type ClientTlsMaterialOptions, clientTlsMaterial } from './client-tls.ts';
export { parseSubjectAltName, peerIdentity } from './peer-identity.ts';
export {
  type SecureContextHolder,
  type SecureServerOptions,
  type ServerTls,
  type ServerTlsOptions,
  serverTls,
} from './server-tls.ts';
export {
  hasTlsFiles,
  readTlsFiles,
  TlsFileSource,
  type TlsFiles,
  type TlsMaterial,
  validateTlsMaterial,
} from './tls-files.ts';
export { type TlsFileWatch, type WatchTlsFilesOptions, watchTlsFiles } from './watch-tls-files.ts';
