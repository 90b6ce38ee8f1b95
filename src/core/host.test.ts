import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { echoContract } from '../../test/fixtures/echo-service.ts';
import { codeOf } from '../../test/support/status.ts';
import { refusedStatus, UNPROCESSED_TRAILER } from '../contract/errors.ts';
import { Metadata, Status, StatusError } from '../contract/index.ts';
import { type CallContext, currentCall, ServerCallContext } from './context.ts';
import { ServiceHost } from './host.ts';
import type { Message } from './types.ts';

const echo = echoContract().service('sb.test.Echo');
const unary = echo.method('Unary')!;

function context(deadline = Date.now() + 5000): ServerCallContext {
  return new ServerCallContext({
    method: unary,
    metadata: new Metadata(),
    deadline,
    transport: 'inproc',
    peer: 'test',
  });
}

describe('ServiceHost', () => {
  it('finds handlers by local or proto name and refuses unknown ones', () => {
    const host = new ServiceHost().add(echo, { Unary: (req: Message) => req });
    assert.ok(host.lookup('/sb.test.Echo/Unary'));
    assert.equal(host.lookup('/sb.test.Echo/Nope'), undefined);
    assert.throws(() => new ServiceHost().add(echo, { nope: () => ({}) } as never), /has no method nope/);
    assert.throws(() => host.add(echo, {}), /already served/);
  });

  it("never reports a handler's failure as unprocessed, even a downstream refusal it rethrows", async () => {
    const downstream = refusedStatus(Status.UNAVAILABLE, 'downstream is draining');
    downstream.metadata.set('x-kept', 'yes');
    const refuseFirst = async (_ctx: CallContext, next: () => Promise<unknown>) => {
      if (refuse) throw refusedStatus(Status.RESOURCE_EXHAUSTED, 'over the limit');
      return next();
    };
    let refuse = false;
    const host = new ServiceHost({ interceptors: [refuseFirst] }).add(echo, {
      unary: () => Promise.reject(downstream),
    });
    const failed = await host
      .lookup(unary.path)!
      .invoke(context(), {})
      .catch((e: StatusError) => e);
    assert.ok(failed instanceof StatusError);
    assert.equal(failed.code, Status.UNAVAILABLE);
    assert.equal(failed.unprocessed, false, 'the handler ran');
    assert.equal(failed.metadata.has(UNPROCESSED_TRAILER), false);
    assert.equal(failed.metadata.getString('x-kept'), 'yes', 'other trailers stay');
    // A refusal before the handler (an interceptor: limits, drain) is still unprocessed.
    refuse = true;
    const refused = await host
      .lookup(unary.path)!
      .invoke(context(), {})
      .catch((e: StatusError) => e);
    assert.equal((refused as StatusError).unprocessed, true);
  });

  it('answers UNIMPLEMENTED for a method without a handler', async () => {
    const host = new ServiceHost().add(echo, {});
    assert.equal(await codeOf(host.lookup(unary.path)!.invoke(context(), {})), Status.UNIMPLEMENTED);
  });

  it('fails on the deadline even when the handler ignores it, and aborts its signal', async () => {
    let signal: AbortSignal | undefined;
    const host = new ServiceHost().add(echo, {
      unary: (_req: Message, ctx: CallContext) => {
        signal = ctx.signal;
        return new Promise(() => {});
      },
    });
    const started = Date.now();
    assert.equal(
      await codeOf(host.lookup(unary.path)!.invoke(context(Date.now() + 50), {})),
      Status.DEADLINE_EXCEEDED,
    );
    assert.ok(Date.now() - started < 1000);
    assert.equal(signal?.aborted, true);
  });

  it('does not start a call whose deadline has passed', async () => {
    let ran = false;
    const host = new ServiceHost().add(echo, {
      unary: () => {
        ran = true;
        return {};
      },
    });
    assert.equal(
      await codeOf(host.lookup(unary.path)!.invoke(context(Date.now() - 1), {})),
      Status.DEADLINE_EXCEEDED,
    );
    assert.equal(ran, false);
  });

  it('fails with the cancel reason when the transport cancels', async () => {
    const host = new ServiceHost().add(echo, { unary: () => new Promise(() => {}) });
    const ctx = context();
    const call = host.lookup(unary.path)!.invoke(ctx, {});
    ctx.cancel();
    assert.equal(await codeOf(call), Status.CANCELLED);
    assert.equal(ctx.signal.aborted, true, 'a signal asked for after the cancel is aborted too');
  });

  it('runs interceptors outermost first and lets them refuse', async () => {
    const order: string[] = [];
    const host = new ServiceHost({
      interceptors: [
        async (_ctx, next) => {
          order.push('outer in');
          const res = await next();
          order.push('outer out');
          return res;
        },
        async (ctx, next) => {
          order.push('inner');
          if (ctx.metadata.has('x-deny')) throw new StatusError(Status.PERMISSION_DENIED, 'no');
          return next();
        },
      ],
    }).add(echo, {
      unary: () => {
        order.push('handler');
        return { text: 'ok' };
      },
    });
    const res = (await host.lookup(unary.path)!.invoke(context(), {})) as Message;
    assert.equal(res.text, 'ok');
    assert.deepEqual(order, ['outer in', 'inner', 'handler', 'outer out']);
    const denied = context();
    denied.metadata.set('x-deny', '1');
    assert.equal(await codeOf(host.lookup(unary.path)!.invoke(denied, {})), Status.PERMISSION_DENIED);
  });

  it('makes the call current for code the handler runs', async () => {
    let inside: CallContext | undefined;
    const host = new ServiceHost({ propagateContext: true }).add(echo, {
      unary: async () => {
        await new Promise((r) => setTimeout(r, 1));
        inside = currentCall();
        return {};
      },
    });
    const ctx = context();
    await host.lookup(unary.path)!.invoke(ctx, {});
    assert.equal(inside, ctx);
    assert.equal(currentCall(), undefined);
  });

  it('runs handlers outside any scope when propagation is off', async () => {
    let inside: CallContext | undefined = context();
    const host = new ServiceHost({ propagateContext: false }).add(echo, {
      unary: () => {
        inside = currentCall();
        return {};
      },
    });
    await host.lookup(unary.path)!.invoke(context(), {});
    assert.equal(inside, undefined);
  });

  it('streams responses through send and reports a non-iterable as INTERNAL', async () => {
    const serverStream = echo.method('ServerStream')!;
    const sent: unknown[] = [];
    const host = new ServiceHost().add(echo, {
      async *serverStream() {
        yield { index: 1 };
        yield { index: 2 };
      },
    });
    const ctx = new ServerCallContext({
      method: serverStream,
      metadata: new Metadata(),
      deadline: Date.now() + 5000,
      transport: 'inproc',
      peer: 'test',
    });
    await host.lookup(serverStream.path)!.invoke(ctx, {}, (m) => {
      sent.push(m);
    });
    assert.deepEqual(sent, [{ index: 1 }, { index: 2 }]);
    const broken = new ServiceHost().add(echo, { serverStream: (() => 42) as never });
    assert.equal(await codeOf(broken.lookup(serverStream.path)!.invoke(ctx, {}, () => {})), Status.INTERNAL);
  });
});

describe('context propagation by default', () => {
  // A fresh process, since whether a client exists is process-wide.
  it('is off in a process without clients and on once one is created', async () => {
    const { execFile } = await import('node:child_process');
    const script = `
      import { Metadata } from './src/contract/index.ts';
      import { createClient, currentCall, ServerCallContext, ServiceHost } from './src/core/index.ts';
      import { InprocTransport } from './src/transports/inproc/index.ts';
      import { echoContract } from './test/fixtures/echo-service.ts';
      const echo = echoContract().service('sb.test.Echo');
      const method = echo.method('Unary');
      const seen = [];
      const host = new ServiceHost().add(echo, { unary: () => { seen.push(currentCall() !== undefined); return {}; } });
      const ctx = () => new ServerCallContext({ method, metadata: new Metadata(), deadline: Infinity, transport: 'inproc', peer: 't' });
      await host.lookup(method.path).invoke(ctx(), {});
      createClient(echo, new InprocTransport(host));
      await host.lookup(method.path).invoke(ctx(), {});
      console.log(JSON.stringify(seen));`;
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { timeout: 20_000 },
        (err, out) => (err ? reject(err) : resolve(out)),
      );
    });
    assert.deepEqual(JSON.parse(stdout), [false, true]);
  });
});
