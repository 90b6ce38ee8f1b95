/**
 * Health and reflection over the wire, as third-party clients use them: @grpc/grpc-js with
 * @grpc/proto-loader, and Python grpcio (reflection driving a dynamic call, as grpcurl does).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';
import { echoContract, echoImplementation } from '../../test/fixtures/echo-service.ts';
import { BUNDLED_PROTO_DIR } from '../contract/index.ts';
import { ServiceHost } from '../core/index.ts';
import { GrpcServer } from '../transports/grpc/index.ts';
import { HealthService } from './health.ts';
import { ReflectionService } from './reflection.ts';

const run = promisify(execFile);

type GrpcConstructor = new (target: string, credentials: grpc.ChannelCredentials) => grpc.Client;

function grpcClient(protoFile: string, serviceName: string, target: string): grpc.Client {
  const definition = protoLoader.loadSync(path.join(BUNDLED_PROTO_DIR, protoFile), {
    keepCase: true,
    enums: String,
  });
  let node: unknown = grpc.loadPackageDefinition(definition);
  for (const part of serviceName.split('.')) node = (node as Record<string, unknown>)[part];
  return new (node as GrpcConstructor)(target, grpc.credentials.createInsecure());
}

type Callback = (err: grpc.ServiceError | null, res: Record<string, unknown>) => void;

describe('health and reflection with third-party clients', () => {
  const host = new ServiceHost();
  host.add(echoContract().service('sb.test.Echo'), echoImplementation as never);
  const health = new HealthService().addTo(host);
  new ReflectionService().addTo(host);
  const server = new GrpcServer(host, { host: '127.0.0.1', port: 0 });
  let target = '';
  const clients: grpc.Client[] = [];

  before(async () => {
    const address = await server.listen();
    target = `127.0.0.1:${address.port}`;
  });
  after(async () => {
    for (const client of clients) client.close();
    await server.close(0);
  });

  it('answers grpc-js health Check and Watch', async () => {
    const client = grpcClient('grpc/health/v1/health.proto', 'grpc.health.v1.Health', target);
    clients.push(client);
    const check = (service: string) =>
      new Promise<{ err: grpc.ServiceError | null; res: Record<string, unknown> }>((resolve) => {
        (client as unknown as { Check: (req: object, cb: Callback) => void }).Check({ service }, (err, res) =>
          resolve({ err, res }),
        );
      });
    assert.equal((await check('')).res.status, 'SERVING');
    assert.equal((await check('sb.test.Echo')).res.status, 'SERVING');
    assert.equal((await check('nope')).err?.code, grpc.status.NOT_FOUND);

    const watch = (
      client as unknown as { Watch: (req: object) => grpc.ClientReadableStream<{ status: string }> }
    ).Watch({ service: 'sb.test.Echo' });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      watch.on('data', (res: { status: string }) => {
        seen.push(res.status);
        if (seen.length === 1) health.setStatus('sb.test.Echo', 'NOT_SERVING');
        if (seen.length === 2) {
          watch.cancel();
          resolve();
        }
      });
      watch.on('error', (err: grpc.ServiceError) => {
        if (err.code !== grpc.status.CANCELLED) reject(err);
      });
    });
    assert.deepEqual(seen, ['SERVING', 'NOT_SERVING']);
    health.clearStatus('sb.test.Echo');
  });

  it('answers a raw grpc-js reflection request with descriptors protobufjs can load', async () => {
    const client = grpcClient(
      'grpc/reflection/v1alpha/reflection.proto',
      'grpc.reflection.v1alpha.ServerReflection',
      target,
    );
    clients.push(client);
    const call = (
      client as unknown as {
        ServerReflectionInfo: () => grpc.ClientDuplexStream<object, Record<string, unknown>>;
      }
    ).ServerReflectionInfo();
    const responses: Record<string, unknown>[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (res: Record<string, unknown>) => responses.push(res));
      call.on('end', resolve);
      call.on('error', reject);
    });
    call.write({ list_services: '' });
    call.write({ file_containing_symbol: 'sb.test.Echo' });
    call.end();
    await done;
    const [listed, found] = responses;
    assert.ok(listed && found, 'two responses');
    const services = (listed.list_services_response as { service: { name: string }[] }).service;
    assert.ok(services.some((s) => s.name === 'sb.test.Echo'));
    const bytes = (found.file_descriptor_response as { file_descriptor_proto: Buffer[] })
      .file_descriptor_proto;
    const files = bytes.map((b) => descriptor.FileDescriptorProto.decode(b));
    const root = protobuf.Root.fromDescriptor({ file: files } as never);
    const echo = root.lookupService('sb.test.Echo');
    assert.deepEqual(
      echo.methodsArray.map((m) => `${m.name}:${Boolean(m.requestStream)}:${Boolean(m.responseStream)}`),
      [
        'Unary:false:false',
        'ServerStream:false:true',
        'ClientStream:true:false',
        'Bidi:true:true',
        'Default:false:false',
      ],
    );
  });

  it('lets Python grpcio discover the contract by reflection and call it', async () => {
    const script = `
import importlib.util, json, os, sys, tempfile
import grpc
from grpc_tools import protoc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
target, proto_dir = sys.argv[1], sys.argv[2]
out = tempfile.mkdtemp()
assert protoc.main(['protoc', '-I' + proto_dir, '--python_out=' + out, 'grpc/reflection/v1alpha/reflection.proto']) == 0
spec = importlib.util.spec_from_file_location('reflection_pb2', os.path.join(out, 'grpc/reflection/v1alpha/reflection_pb2.py'))
r = importlib.util.module_from_spec(spec)
spec.loader.exec_module(r)
channel = grpc.insecure_channel(target)
info = channel.stream_stream('/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
    request_serializer=r.ServerReflectionRequest.SerializeToString,
    response_deserializer=r.ServerReflectionResponse.FromString)
requests = [r.ServerReflectionRequest(list_services=''), r.ServerReflectionRequest(file_containing_symbol='sb.test.Echo')]
listed, found = list(info(iter(requests), timeout=10))
files = {}
for raw in found.file_descriptor_response.file_descriptor_proto:
    f = descriptor_pb2.FileDescriptorProto.FromString(raw)
    files[f.name] = f
pool = descriptor_pool.DescriptorPool()
added = set()
def add(name):
    if name in added: return
    for dep in files[name].dependency: add(dep)
    pool.Add(files[name])
    added.add(name)
for name in files: add(name)
factory = message_factory.MessageFactory(pool)
Req = factory.GetPrototype(pool.FindMessageTypeByName('sb.test.EchoRequest'))
Res = factory.GetPrototype(pool.FindMessageTypeByName('sb.test.EchoResponse'))
unary = channel.unary_unary('/sb.test.Echo/Unary', request_serializer=Req.SerializeToString, response_deserializer=Res.FromString)
res = unary(json_format.Parse('{"text": "from python", "big": "123", "labels": {"a": "b"}, "kind": "KIND_LOUD"}', Req()), timeout=10)
print(json.dumps({
    'services': sorted(s.name for s in listed.list_services_response.service),
    'files': sorted(files),
    'response': json_format.MessageToDict(res, including_default_value_fields=False),
}))
`;
    const { stdout } = await run('/usr/bin/python3', ['-c', script, target, BUNDLED_PROTO_DIR], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const result = JSON.parse(stdout) as {
      services: string[];
      files: string[];
      response: Record<string, unknown>;
    };
    assert.deepEqual(result.services, [
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
      'sb.test.Echo',
    ]);
    assert.deepEqual(result.files, [
      'echo.proto',
      'google/api/annotations.proto',
      'google/api/http.proto',
      'google/protobuf/descriptor.proto',
      'google/protobuf/timestamp.proto',
    ]);
    assert.equal(result.response.text, 'from python');
    assert.equal(result.response.big, '123');
    assert.deepEqual(result.response.labels, { a: 'b' });
    assert.equal(result.response.kind, 'KIND_LOUD');
  });
});
