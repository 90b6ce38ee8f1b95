import { memorySample, onCommand, report } from './child-io.ts';
import { Gate } from './gate.ts';
import { EXPECTED_MESSAGE, REQUEST_NAME } from './greeter.ts';
import { runClosedLoop } from './load.ts';
import type { ChildSpec } from './protocol.ts';
import { stackInfo } from './stacks/index.ts';
import type { Caller, Stack } from './stacks/stack.ts';

/**
 * One benchmark process: a server or a client of one stack, driven by the harness (run.ts)
 * over the IPC channel. It exits when the harness goes away, so no child outlives a run.
 * The processes of the cluster parts (balancing, governance, hub) are in cluster-child.ts.
 */

const WARM_CALLS = 200;

async function runServer(stack: Stack, spec: Extract<ChildSpec, { role: 'server' }>): Promise<void> {
  const gate = new Gate();
  const server = await stack.serve({ host: spec.host, port: spec.port, gate });
  onCommand((command) => {
    switch (command.cmd) {
      case 'memory':
        void memorySample().then((sample) => report({ type: 'memory', sample }));
        break;
      case 'hold':
        gate.hold();
        break;
      case 'release':
        gate.release();
        break;
      case 'pending':
        report({ type: 'pending', count: gate.pending });
        break;
      case 'stop':
        gate.release();
        void server.close().finally(() => process.exit(0));
        break;
    }
  });
  report({ type: 'ready', port: server.port, node: process.version });
}

async function runLoad(stack: Stack, spec: Extract<ChildSpec, { role: 'load' }>): Promise<void> {
  const caller = await stack.connect({ host: spec.host, port: spec.port, connections: spec.connections });
  const result = await runClosedLoop(
    () => caller.sayHello(REQUEST_NAME),
    { concurrency: spec.concurrency, warmupMs: spec.warmupMs, durationMs: spec.durationMs },
    (message) => message === EXPECTED_MESSAGE,
  );
  report({ type: 'result', result, node: process.version });
  await caller.close();
}

async function warm(callers: readonly Caller[]): Promise<void> {
  for (let i = 0; i < WARM_CALLS; i++) await callers[i % callers.length]!.sayHello(REQUEST_NAME);
}

async function runIdle(stack: Stack, spec: Extract<ChildSpec, { role: 'idle' }>): Promise<void> {
  const target = { host: spec.host, port: spec.port, connections: 1 };
  const callers = [await stack.connect(target)];
  await warm(callers);
  onCommand((command) => {
    if (command.cmd === 'open') {
      void (async () => {
        // A few at a time: the listen backlog and the server's accept loop stay comfortable.
        for (let opened = 0; opened < command.count; ) {
          const batch = Math.min(50, command.count - opened);
          const fresh = await Promise.all(Array.from({ length: batch }, () => stack.connect(target)));
          await Promise.all(fresh.map((caller) => caller.sayHello(REQUEST_NAME)));
          callers.push(...fresh);
          opened += batch;
        }
        report({ type: 'opened', count: command.count });
      })().catch((err: unknown) => report({ type: 'error', message: String(err) }));
    }
    if (command.cmd === 'stop')
      void Promise.allSettled(callers.map((c) => c.close())).then(() => process.exit(0));
  });
  report({ type: 'warm' });
}

async function runInflight(stack: Stack, spec: Extract<ChildSpec, { role: 'inflight' }>): Promise<void> {
  const target = { host: spec.host, port: spec.port, connections: 1 };
  const callers = await Promise.all(Array.from({ length: spec.connections }, () => stack.connect(target)));
  await warm(callers);
  onCommand((command) => {
    if (command.cmd === 'fire') {
      const calls = Array.from({ length: command.count }, (_, i) =>
        callers[i % callers.length]!.sayHello(REQUEST_NAME),
      );
      report({ type: 'fired' });
      void Promise.allSettled(calls).then((outcomes) => {
        const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        report({
          type: 'settled',
          ok: outcomes.length - failures.length,
          errors: failures.length,
          firstError: failures[0] ? String(failures[0].reason) : undefined,
        });
      });
    }
    if (command.cmd === 'stop')
      void Promise.allSettled(callers.map((c) => c.close())).then(() => process.exit(0));
  });
  report({ type: 'warm' });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;
  // The harness is gone (or never was): nothing left to do.
  process.on('disconnect', () => process.exit(0));
  // Loaded only there: the stacks' processes stay free of the cluster, hub and app modules.
  if (!('stack' in spec)) return (await import('./cluster-child.ts')).runClusterChild(spec);
  const stack = await stackInfo(spec.stack).load();
  switch (spec.role) {
    case 'server':
      return runServer(stack, spec);
    case 'load':
      await runLoad(stack, spec);
      return process.exit(0);
    case 'idle':
      return runIdle(stack, spec);
    case 'inflight':
      return runInflight(stack, spec);
  }
}

main().catch((err: unknown) => {
  report({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  setTimeout(() => process.exit(1), 100);
});
