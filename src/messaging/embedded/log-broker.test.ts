import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { brokerConformance } from '../../../test/conformance/broker-suite.ts';
import { RestartableLogBroker } from './testdata/restartable.ts';

const dir = await mkdtemp(path.join(os.tmpdir(), 'sb-embedded-conformance-'));
const owner = await RestartableLogBroker.open(dir, { drainTimeoutMs: 300, retryBackoffMs: 20 });

after(async () => {
  await owner.close();
  await rm(dir, { recursive: true, force: true });
});

brokerConformance({
  name: 'embedded',
  capabilities: {
    orderingPerKey: true,
    persistence: true,
    consumerGroups: true,
    replay: true,
    delayedRedelivery: true,
    dedupe: true,
  },
  broker: async () => owner.client(),
  restart: () => owner.restart(),
});
