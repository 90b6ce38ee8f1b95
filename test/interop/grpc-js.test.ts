/**
 * Interop with @grpc/grpc-js in both directions: its client against GrpcServer, and
 * GrpcClientTransport against its server. All four call kinds, metadata, deadlines,
 * cancellation, errors with trailers and details, compression.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Metadata, Status, StatusError } from '../../src/contract/index.ts';
import { PROTOBUFJS_PROTO_DIR } from '../../src/contract/paths.ts';
import { type CallContext, createClient, type Message, ServiceHost } from '../../src/core/index.ts';
import { GrpcClientTransport, GrpcServer } from '../../src/transports/grpc/index.ts';
import {
  ECHO_PROTO,
  type EchoService,
  echoContract,
  echoImplementation,
  echoObservations,
} from '../fixtures/echo-service.ts';
import { sleep, waitFor } from '../support/wait.ts';

const echo = echoContract().service('sb.test.Echo');

type Req = { text: string; failWith?: number; delayMs?: number; count?: number; payload?: Uint8Array };
type Res = { text: string; index: number; metadata: string[]; deadlineMs: string; payload: Uint8Array };
type Callback = (err: grpc.ServiceError | null, res?: Res) => void;

/** The Echo stub grpc-js generates from the proto, as far as these tests use it. */
interface EchoStub extends grpc.Client {
  unary(req: Req, md: grpc.Metadata, options: grpc.CallOptions, cb: Callback): grpc.ClientUnaryCall;
  default(req: Req, md: grpc.Metadata, options: grpc.CallOptions, cb: Callback): grpc.ClientUnaryCall;
  serverStream(req: Req, md?: grpc.Metadata): grpc.ClientReadableStream<Res>;
  clientStream(md: grpc.Metadata, cb: Callback): grpc.ClientWritableStream<Req>;
  bidi(md?: grpc.Metadata): grpc.ClientDuplexStream<Req, Res>;
}
type EchoStubConstructor = new (
  address: string,
  creds: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => EchoStub;

const definition = protoLoader.loadSync(ECHO_PROTO, {
  includeDirs: [PROTOBUFJS_PROTO_DIR],
  defaults: true,
  longs: String,
});
const EchoStubClass = (
  grpc.loadPackageDefinition(definition) as unknown as {
    sb: { test: { Echo: EchoStubConstructor & { service: grpc.ServiceDefinition } } };
  }
).sb.test.Echo;

function unary(
  stub: EchoStub,
  req: Req,
  md = new grpc.Metadata(),
  options: grpc.CallOptions = {},
  method: 'unary' | 'default' = 'unary',
): Promise<{ res: Res; headers: grpc.Metadata; status: grpc.StatusObject }> {
  return new Promise((resolve, reject) => {
    let headers = new grpc.Metadata();
    let res: Res | undefined;
    let failed: grpc.ServiceError | undefined;
    const call = stub[method](req, md, options, (err, r) => {
      if (err) failed = err;
      res = r;
    });
    call.on('metadata', (m) => {
      headers = m;
    });
    call.on('status', (status) => {
      // 'status' comes after the callback: both are in.
      setImmediate(() => (failed ? reject(failed) : resolve({ res: res!, headers, status })));
    });
  });
}

async function grpcJsError(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  assert.fail('the call succeeded');
}

describe('grpc-js client → GrpcServer', () => {
  let server: GrpcServer;
  let stub: EchoStub;
  let gzipStub: EchoStub;

  before(async () => {
    const host = new ServiceHost().add(echo, {
      ...echoImplementation,
      // Fails with trailer metadata and google.rpc.Status details.
      default(req: Message, ctx: CallContext): Message {
        ctx.responseTrailers.set('x-from-context', 'ctx');
        throw new StatusError(Status.FAILED_PRECONDITION, `précondition: ${req.text}`, {
          metadata: new Metadata({ 'x-from-error': 'err' }),
          details: [
            { typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', value: new Uint8Array([10, 1, 65]) },
          ],
        });
      },
    } as never);
    server = new GrpcServer(host);
    const { port } = await server.listen();
    stub = new EchoStubClass(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    gzipStub = new EchoStubClass(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip,
    });
  });

  after(async () => {
    stub.close();
    gzipStub.close();
    await server.close(100);
  });

  it('unary: metadata in, initial metadata and trailers out', async () => {
    const md = new grpc.Metadata();
    md.add('x-custom', 'v1');
    md.add('x-raw-bin', Buffer.from([1, 2, 3]));
    md.add('x-echo-header', 'head');
    md.add('x-echo-trailer', 'tail');
    const { res, headers, status } = await unary(stub, { text: 'hello grpc-js' }, md);
    assert.equal(res.text, 'hello grpc-js');
    assert.ok(res.metadata.includes('x-custom=v1'), res.metadata.join(' '));
    assert.ok(res.metadata.includes('x-raw-bin=010203'), res.metadata.join(' '));
    assert.deepEqual(headers.get('x-echo-header'), ['head']);
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(status.metadata.get('x-echo-trailer'), ['tail']);
  });

  it("grpc-js's deadline reaches the handler", async () => {
    const { res } = await unary(stub, { text: 'd' }, new grpc.Metadata(), { deadline: Date.now() + 3000 });
    const seen = Number(res.deadlineMs);
    assert.ok(seen > 2000 && seen <= 3000, `saw ${seen}`);
  });

  it('a passed deadline fails DEADLINE_EXCEEDED and cancels the handler', async () => {
    const text = `grpc-js-deadline-${Date.now()}`;
    const err = await grpcJsError(
      unary(stub, { text, delayMs: 5000 }, new grpc.Metadata(), { deadline: Date.now() + 200 }),
    );
    assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
    await waitFor(() => echoObservations.cancelled.includes(text));
  });

  it('call.cancel() cancels the handler', async () => {
    const text = `grpc-js-cancel-${Date.now()}`;
    const call = stub.unary({ text, delayMs: 5000 }, new grpc.Metadata(), {}, () => {});
    await sleep(100);
    call.cancel();
    await waitFor(() => echoObservations.cancelled.includes(text));
  });

  it('errors: code, percent-encoded message, trailer metadata, status details', async () => {
    const err = await grpcJsError(unary(stub, { text: '100% ☃' }, new grpc.Metadata(), {}, 'default'));
    assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(err.details, 'précondition: 100% ☃');
    assert.deepEqual(err.metadata.get('x-from-context'), ['ctx']);
    assert.deepEqual(err.metadata.get('x-from-error'), ['err']);
    const details = err.metadata.get('grpc-status-details-bin')[0] as Buffer;
    assert.ok(Buffer.isBuffer(details) && details.length > 0, 'grpc-status-details-bin is there');
    const failing = await grpcJsError(unary(stub, { text: 'not found', failWith: Status.NOT_FOUND }));
    assert.equal(failing.code, grpc.status.NOT_FOUND);
    assert.equal(failing.details, 'not found');
  });

  it('an unknown method is UNIMPLEMENTED', async () => {
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      stub.makeUnaryRequest(
        '/sb.test.Echo/Missing',
        (x: Buffer) => x,
        (x: Buffer) => x,
        Buffer.alloc(0),
        (e) => resolve(e!),
      ),
    );
    assert.equal(err.code, grpc.status.UNIMPLEMENTED);
  });

  it('server streaming, with an error after some messages', async () => {
    const got: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = stub.serverStream({ text: 's', count: 4 });
      call.on('data', (m: Res) => got.push(m.index));
      call.on('end', resolve);
      call.on('error', reject);
    });
    assert.deepEqual(got, [0, 1, 2, 3]);
    const partial: number[] = [];
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      const call = stub.serverStream({ text: 'broken', count: 3, failWith: Status.DATA_LOSS });
      call.on('data', (m: Res) => partial.push(m.index));
      call.on('error', resolve);
    });
    assert.equal(err.code, grpc.status.DATA_LOSS);
    assert.deepEqual(partial, [0, 1]);
  });

  it('client streaming', async () => {
    const res = await new Promise<Res>((resolve, reject) => {
      const call = stub.clientStream(new grpc.Metadata(), (err, r) => (err ? reject(err) : resolve(r!)));
      for (const text of ['a', 'b', 'c']) call.write({ text });
      call.end();
    });
    assert.equal(res.text, 'a,b,c');
    assert.equal(res.index, 3);
  });

  it('bidi streaming, answered message by message', async () => {
    const call = stub.bidi();
    const got: string[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      call.on('end', resolve);
      call.on('error', reject);
    });
    const next = () => new Promise<Res>((resolve) => call.once('data', resolve));
    for (const text of ['one', 'two', 'three']) {
      const answer = next();
      call.write({ text });
      got.push((await answer).text);
    }
    call.end();
    await ended;
    assert.deepEqual(got, ['one', 'two', 'three']);
  });

  it('gzip-compressed requests and a 1 MiB message', async () => {
    const payload = new Uint8Array(1024 * 1024).fill(9);
    const { res } = await unary(gzipStub, { text: 'zipped', payload });
    assert.equal(res.text, 'zipped');
    assert.equal(res.payload.length, payload.length);
  });
});

describe('GrpcClientTransport → grpc-js server', () => {
  let server: grpc.Server;
  let transport: GrpcClientTransport;
  const cancelled: string[] = [];

  function mdList(md: grpc.Metadata): string[] {
    return Object.entries(md.getMap()).map(([k, v]) => `${k}=${Buffer.isBuffer(v) ? v.toString('hex') : v}`);
  }

  const implementation: grpc.UntypedServiceImplementation = {
    unary(call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Partial<Res>>) {
      const req = call.request;
      if (req.failWith) {
        const trailers = new grpc.Metadata();
        trailers.set('x-why', 'because');
        callback({ code: req.failWith, details: req.text, metadata: trailers });
        return;
      }
      const initial = new grpc.Metadata();
      initial.set('x-initial', 'hi');
      call.sendMetadata(initial);
      const finish = () => {
        const trailers = new grpc.Metadata();
        trailers.set('x-trailer', 'bye');
        const deadline = call.getDeadline();
        callback(
          null,
          {
            text: req.text,
            metadata: mdList(call.metadata),
            payload: req.payload,
            deadlineMs: String((deadline instanceof Date ? deadline.getTime() : deadline) - Date.now()),
          },
          trailers,
        );
      };
      if (req.delayMs) {
        const timer = setTimeout(finish, req.delayMs);
        call.on('cancelled', () => {
          clearTimeout(timer);
          cancelled.push(req.text);
        });
      } else finish();
    },
    serverStream(call: grpc.ServerWritableStream<Req, Partial<Res>>) {
      const count = call.request.count || 3;
      for (let i = 0; i < count; i++) call.write({ index: i, text: call.request.text });
      if (call.request.failWith)
        call.emit('error', { code: call.request.failWith, details: 'stream failed' });
      else call.end();
    },
    clientStream(
      call: grpc.ServerReadableStream<Req, Partial<Res>>,
      callback: grpc.sendUnaryData<Partial<Res>>,
    ) {
      const texts: string[] = [];
      call.on('data', (r: Req) => texts.push(r.text));
      call.on('end', () => callback(null, { text: texts.join(','), index: texts.length }));
    },
    bidi(call: grpc.ServerDuplexStream<Req, Partial<Res>>) {
      let i = 0;
      call.on('data', (r: Req) => call.write({ text: r.text, index: i++ }));
      call.on('end', () => call.end());
    },
  };

  async function start(): Promise<[grpc.Server, number]> {
    const s = new grpc.Server();
    s.addService(EchoStubClass.service, implementation);
    const port = await new Promise<number>((resolve, reject) =>
      s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    return [s, port];
  }

  before(async () => {
    const [s, port] = await start();
    server = s;
    transport = new GrpcClientTransport({ target: `127.0.0.1:${port}` });
  });

  after(async () => {
    await transport.close();
    server.forceShutdown();
  });

  it('unary: metadata out, initial metadata and trailers in, deadline sent', async () => {
    const client = createClient<EchoService>(echo, transport);
    let initial = '';
    let trailer = '';
    const res = await client.unary(
      { text: 'to grpc-js' },
      {
        timeoutMs: 4000,
        metadata: { 'x-custom': 'v', 'x-raw-bin': new Uint8Array([7, 8]) },
        onHeaders: (h) => {
          initial = h.getString('x-initial') ?? '';
        },
        onTrailers: (t) => {
          trailer = t.getString('x-trailer') ?? '';
        },
      },
    );
    assert.equal(res.text, 'to grpc-js');
    const md = res.metadata as string[];
    assert.ok(md.includes('x-custom=v'), md.join(' '));
    assert.ok(md.includes('x-raw-bin=0708'), md.join(' '));
    assert.equal(initial, 'hi');
    assert.equal(trailer, 'bye');
    const deadline = Number(res.deadlineMs);
    assert.ok(deadline > 3000 && deadline <= 4000, `grpc-js saw ${deadline}`);
  });

  it('errors carry code, message and trailer metadata', async () => {
    const client = createClient<EchoService>(echo, transport);
    try {
      await client.unary({ text: 'refusé', failWith: Status.PERMISSION_DENIED });
      assert.fail('the call succeeded');
    } catch (err) {
      assert.ok(err instanceof StatusError);
      assert.equal(err.code, Status.PERMISSION_DENIED);
      assert.equal(err.message, 'refusé');
      assert.equal(err.metadata.getString('x-why'), 'because');
    }
  });

  it('a deadline cancels the grpc-js handler; so does the caller signal', async () => {
    const client = createClient<EchoService>(echo, transport);
    await assert.rejects(
      client.unary({ text: 'slow-deadline', delayMs: 5000 }, { timeoutMs: 150 }),
      (e: StatusError) => e.code === Status.DEADLINE_EXCEEDED,
    );
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(
      client.unary({ text: 'slow-signal', delayMs: 5000 }, { signal: controller.signal }),
      (e: StatusError) => e.code === Status.CANCELLED,
    );
    await waitFor(() => cancelled.includes('slow-deadline') && cancelled.includes('slow-signal'));
  });

  it('server streaming, with an error after some messages', async () => {
    const client = createClient<EchoService>(echo, transport);
    const got: number[] = [];
    for await (const m of client.serverStream({ text: 's', count: 4 })) got.push(m.index as number);
    assert.deepEqual(got, [0, 1, 2, 3]);
    const partial: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const m of client.serverStream({ text: 's', count: 2, failWith: Status.ABORTED })) {
          partial.push(m.index as number);
        }
      })(),
      (e: StatusError) => e.code === Status.ABORTED,
    );
    assert.deepEqual(partial, [0, 1]);
  });

  it('client streaming and bidi streaming', async () => {
    const client = createClient<EchoService>(echo, transport);
    async function* requests(): AsyncIterable<Message> {
      for (const text of ['x', 'y', 'z']) {
        await sleep(1);
        yield { text };
      }
    }
    const res = await client.clientStream(requests());
    assert.equal(res.text, 'x,y,z');
    const got: string[] = [];
    for await (const m of client.bidi(requests())) got.push(`${m.index}:${m.text}`);
    assert.deepEqual(got, ['0:x', '1:y', '2:z']);
  });

  it('carries a 1 MiB message both ways', async () => {
    const payload = new Uint8Array(1024 * 1024).fill(3);
    const res = await createClient<EchoService>(echo, transport).unary({ text: 'big', payload });
    assert.equal(res.text, 'big');
    assert.ok(Buffer.from(res.payload as Uint8Array).equals(payload));
  });
});
