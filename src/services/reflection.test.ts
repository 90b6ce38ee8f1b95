import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import descriptor from 'protobufjs/ext/descriptor.js';
import { echoContract, echoImplementation } from '../../test/fixtures/echo-service.ts';
import { Status, StatusError } from '../contract/index.ts';
import { createClient, type Message, ServiceHost, type UnaryMethod } from '../core/index.ts';
import { InprocTransport } from '../transports/inproc/index.ts';
import { HealthService } from './health.ts';
import { ReflectionService, reflectionContract, type ServerReflectionMethods } from './reflection.ts';
import { ReflectionClient } from './reflection-client.ts';

const run = promisify(execFile);

function setup() {
  const host = new ServiceHost();
  host.add(echoContract().service('sb.test.Echo'), echoImplementation as never);
  new HealthService().addTo(host);
  const reflection = new ReflectionService().addTo(host);
  const transport = new InprocTransport(host);
  return { host, reflection, transport };
}

/** Sends raw reflection requests on one stream and returns the responses. */
async function exchange(transport: InprocTransport, requests: Message[], version = 'v1'): Promise<Message[]> {
  const service = reflectionContract().service(`grpc.reflection.${version}.ServerReflection`);
  const client = createClient<ServerReflectionMethods>(service, transport);
  const out: Message[] = [];
  for await (const res of client.serverReflectionInfo(requests)) out.push(res);
  return out;
}

function descriptorsOf(response: Message | undefined): Uint8Array[] {
  assert.ok(response, 'a response');
  return (response.fileDescriptorResponse as { fileDescriptorProto: Uint8Array[] }).fileDescriptorProto;
}

function fileNames(response: Message | undefined): string[] {
  const list = descriptorsOf(response);
  return list.map((bytes) =>
    String((descriptor.FileDescriptorProto.decode(bytes) as unknown as Message).name),
  );
}

describe('ReflectionService', () => {
  it('lists the services the host serves, itself and health included', async () => {
    const { transport } = setup();
    const services = await new ReflectionClient(transport).listServices();
    assert.deepEqual(services.sort(), [
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
      'sb.test.Echo',
    ]);
  });

  it('sends a file with its dependencies, each file once per stream', async () => {
    const { transport } = setup();
    const [first, second, third] = await exchange(transport, [
      { fileContainingSymbol: 'sb.test.Echo' },
      { fileContainingSymbol: 'sb.test.EchoRequest' },
      { fileByFilename: 'google/protobuf/timestamp.proto' },
    ]);
    assert.deepEqual(fileNames(first).sort(), [
      'echo.proto',
      'google/api/annotations.proto',
      'google/api/http.proto',
      'google/protobuf/descriptor.proto',
      'google/protobuf/timestamp.proto',
    ]);
    assert.deepEqual(fileNames(second), ['echo.proto']);
    assert.deepEqual(fileNames(third), ['google/protobuf/timestamp.proto']);
    const echo = descriptor.FileDescriptorProto.decode(descriptorsOf(first)[0]!) as unknown as Message;
    assert.equal(echo.name, 'echo.proto');
    assert.equal(echo.package, 'sb.test');
    assert.deepEqual(echo.dependency, ['google/api/annotations.proto', 'google/protobuf/timestamp.proto']);
  });

  it('finds methods, nested symbols, extensions, and describes health and reflection', async () => {
    const { transport } = setup();
    const responses = await exchange(transport, [
      { fileContainingSymbol: 'sb.test.Echo.Unary' },
      { fileContainingSymbol: 'grpc.health.v1.HealthCheckResponse.ServingStatus' },
      { fileContainingSymbol: 'grpc.reflection.v1alpha.ServerReflection' },
      {
        fileContainingExtension: {
          containingType: 'google.protobuf.MethodOptions',
          extensionNumber: 72295728,
        },
      },
      { allExtensionNumbersOfType: 'google.protobuf.MethodOptions' },
    ]);
    assert.deepEqual(fileNames(responses[0])[0], 'echo.proto');
    assert.deepEqual(fileNames(responses[1]), ['grpc/health/v1/health.proto']);
    assert.deepEqual(fileNames(responses[2]), ['grpc/reflection/v1alpha/reflection.proto']);
    assert.deepEqual(fileNames(responses[3]), ['google/api/annotations.proto']);
    const numbers = responses[4]?.allExtensionNumbersResponse as Message;
    assert.equal(numbers.baseTypeName, 'google.protobuf.MethodOptions');
    assert.deepEqual([...(numbers.extensionNumber as number[])], [72295728]);
  });

  it('answers NOT_FOUND for unknown symbols and files, echoing the request, on both versions', async () => {
    const { transport } = setup();
    for (const version of ['v1', 'v1alpha']) {
      const [symbol, file] = (await exchange(
        transport,
        [{ host: 'h', fileContainingSymbol: 'no.Such' }, { fileByFilename: 'nope.proto' }],
        version,
      )) as [Message, Message];
      assert.deepEqual(
        { ...(symbol.errorResponse as Message) },
        {
          errorCode: Status.NOT_FOUND,
          errorMessage: 'symbol not found: no.Such',
        },
      );
      assert.equal(symbol.validHost, 'h');
      assert.equal((symbol.originalRequest as Message).fileContainingSymbol, 'no.Such');
      assert.equal((file.errorResponse as Message).errorCode, Status.NOT_FOUND);
    }
  });

  it('ends the stream with INVALID_ARGUMENT for an empty request', async () => {
    const { transport } = setup();
    await assert.rejects(exchange(transport, [{ host: 'x' }]), (err: unknown) => {
      assert.ok(err instanceof StatusError);
      assert.equal(err.code, Status.INVALID_ARGUMENT);
      return true;
    });
  });

  it('describes services added after it was', async () => {
    const host = new ServiceHost();
    new ReflectionService().addTo(host);
    const client = new ReflectionClient(new InprocTransport(host));
    assert.deepEqual((await client.listServices()).length, 2);
    host.add(echoContract().service('sb.test.Echo'), echoImplementation as never);
    assert.ok((await client.listServices()).includes('sb.test.Echo'));
    const files = await client.fileDescriptors(['sb.test.Echo']);
    assert.ok(files.some((f) => f.name === 'echo.proto'));
  });

  it('writes descriptors that protobuf C++ (through Python) accepts as a valid pool', async () => {
    const { transport } = setup();
    const client = new ReflectionClient(transport);
    const files = await client.fileDescriptors([
      'sb.test.Echo',
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
    ]);
    const set = descriptor.FileDescriptorSet.encode({ file: files }).finish();
    const script = `
import sys
from google.protobuf import descriptor_pb2, descriptor_pool
fds = descriptor_pb2.FileDescriptorSet()
fds.ParseFromString(sys.stdin.buffer.read())
pool = descriptor_pool.DescriptorPool()
byname = {f.name: f for f in fds.file}
added = set()
def add(name):
    if name in added: return
    for dep in byname[name].dependency: add(dep)
    pool.Add(byname[name]); added.add(name)
for name in byname: add(name)
echo = pool.FindServiceByName('sb.test.Echo')
print(' '.join(m.name + ':' + m.input_type.full_name for m in echo.methods))
req = pool.FindMessageTypeByName('sb.test.EchoRequest')
print(req.fields_by_name['labels'].message_type.GetOptions().map_entry, req.fields_by_name['kind'].enum_type.full_name)
print(echo.methods_by_name['Unary'].GetOptions().SerializeToString().hex())
`;
    const child = run('/usr/bin/python3', ['-c', script], { encoding: 'utf8' });
    child.child.stdin?.end(Buffer.from(set));
    const { stdout } = await child;
    const [methods, mapAndEnum, unaryOptions] = stdout.trim().split('\n');
    assert.equal(
      methods,
      'Unary:sb.test.EchoRequest ServerStream:sb.test.EchoRequest ClientStream:sb.test.EchoRequest ' +
        'Bidi:sb.test.EchoRequest Default:sb.test.EchoRequest',
    );
    assert.equal(mapAndEnum, 'True sb.test.Kind');
    // google.api.http, as protoc encodes it: field 72295728 { post: "/v1/echo" body: "*" additional_bindings { get } }
    assert.match(unaryOptions ?? '', /^82d3e49302/);
    assert.ok(Buffer.from(unaryOptions ?? '', 'hex').includes('/v1/echo/{text}'));
  });
});

describe('ReflectionClient', () => {
  it('builds a contract that calls the server like the .proto does, HTTP rules included', async () => {
    const { transport } = setup();
    const contract = await new ReflectionClient(transport).contract(['sb.test.Echo']);
    const original = echoContract().service('sb.test.Echo');
    const reflected = contract.service('sb.test.Echo');
    assert.deepEqual(
      reflected.methods.map((m) => [m.name, m.kind, m.idempotency, m.httpRules]),
      original.methods.map((m) => [m.name, m.kind, m.idempotency, m.httpRules]),
    );
    const echo = createClient<{ unary: UnaryMethod<Message, Message> }>(reflected, transport);
    const res = await echo.unary({
      text: 'via reflection',
      big: '9007199254740993',
      at: { seconds: 5, nanos: 6 },
      labels: { k: 'v' },
      kind: 2,
    });
    assert.equal(res.text, 'via reflection');
    assert.equal(String(res.big), '9007199254740993');
    const input = reflected.method('Unary')!.input;
    assert.deepEqual(input.toJson(input.fromJson({ at: '2024-01-01T00:00:00Z', kind: 'KIND_LOUD' })), {
      at: '2024-01-01T00:00:00Z',
      kind: 'KIND_LOUD',
    });
  });

  it('reports an unknown symbol as NOT_FOUND and a server without reflection as UNIMPLEMENTED', async () => {
    const { transport } = setup();
    await assert.rejects(new ReflectionClient(transport).contract(['no.Such']), /symbol not found/);
    const bare = new ServiceHost().add(echoContract().service('sb.test.Echo'), echoImplementation as never);
    await assert.rejects(new ReflectionClient(new InprocTransport(bare)).listServices(), (err: unknown) => {
      assert.ok(err instanceof StatusError);
      assert.equal(err.code, Status.UNIMPLEMENTED);
      return true;
    });
  });
});
