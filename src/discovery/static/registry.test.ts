import assert from 'node:assert/strict';
import { it } from 'node:test';
import { registryConformance } from '../../../test/conformance/registry-suite.ts';
import { InstanceTable } from '../instance-table.ts';
import { StaticRegistry } from './registry.ts';

const shared = new InstanceTable();

registryConformance({
  name: 'static',
  registry: async () => new StaticRegistry([], { table: shared }),
  shortTtlMs: 300,
  expirySlackMs: 150,
});

it('serves the fixed instances from configuration', async () => {
  const registry = new StaticRegistry([
    {
      service: 'greet.Greeter',
      instances: ['grpc://127.0.0.1:50051 native://127.0.0.1:50052', 'http://10.0.0.2:8080'],
    },
  ]);
  try {
    const list = await registry.list('greet.Greeter');
    assert.deepEqual(
      list.map((i) => i.endpoints.map((e) => `${e.transport}:${e.port}`)),
      [['grpc:50051', 'native:50052'], ['http:8080']],
    );
  } finally {
    await registry.close();
  }
});

it('refuses a malformed configured target', () => {
  assert.throws(
    () => new StaticRegistry([{ service: 'x.Y', instances: ['ftp://h:1'] }]),
    /unknown scheme ftp/,
  );
});
