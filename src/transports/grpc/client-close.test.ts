import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  ECHO_PROTO,
  type EchoService,
  echoContract,
  echoImplementation,
} from '../../../test/fixtures/echo-service.ts';
import { ServiceHost } from '../../core/index.ts';
import { GrpcServer } from './index.ts';

const run = promisify(execFile);

describe('GrpcClientTransport.close', () => {
  let server: GrpcServer;
  let port = 0;
  before(async () => {
    const host = new ServiceHost().add<EchoService>(
      echoContract().service('sb.test.Echo'),
      echoImplementation,
    );
    server = new GrpcServer(host, { port: 0 });
    port = (await server.listen()).port;
  });
  after(() => server.close(0));

  // Regression: close() of an idle (unref'd) session never resolved, so a script ending in
  // `await client.close()` exited with code 13 (unsettled top-level await).
  it('resolves in a process with nothing else to do', async () => {
    const script = `
      import { createClient } from './src/core/index.ts';
      import { loadContract } from './src/contract/index.ts';
      import { GrpcClientTransport } from './src/transports/grpc/index.ts';
      const contract = await loadContract(${JSON.stringify(ECHO_PROTO)});
      const transport = new GrpcClientTransport({ target: '127.0.0.1:${port}' });
      const res = await createClient(contract.service('sb.test.Echo'), transport).unary({ text: 'bye' });
      await transport.close();
      console.log('closed', res.text);`;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      timeout: 20_000,
    });
    assert.equal(stdout.trim(), 'closed bye');
  });
});
