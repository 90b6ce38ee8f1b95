import assert from 'node:assert/strict';
import { it } from 'node:test';
import { register } from 'prom-client';
import { Metrics } from './metrics.ts';

it('owns its registry: families never reach prom-client global one, and two Metrics stay apart', async () => {
  const a = new Metrics();
  const b = new Metrics();
  a.counter('sb_test_things_total', 'Things.', ['kind']).inc({ kind: 'x' });
  assert.equal(register.getSingleMetric('sb_test_things_total'), undefined);
  assert.equal(b.registry.getSingleMetric('sb_test_things_total'), undefined);
  assert.match(await a.text(), /sb_test_things_total\{kind="x"\} 1/);
});

it('returns the existing family for a second request, and refuses one of another kind', () => {
  const metrics = new Metrics();
  const first = metrics.counter('sb_test_calls_total', 'Calls.', ['code']);
  assert.equal(metrics.counter('sb_test_calls_total', 'Calls.', ['code']), first);
  assert.throws(() => metrics.gauge('sb_test_calls_total', 'Calls.', []), /another kind/);
});

it('adds default labels to every series and uses the RPC buckets unless told otherwise', async () => {
  const metrics = new Metrics({ defaultLabels: { instance_name: 'a1' } });
  metrics.histogram('sb_test_seconds', 'Time.', []).observe(0.003);
  const text = await metrics.text();
  assert.match(text, /sb_test_seconds_bucket\{le="0.005",instance_name="a1"\} 1/);
  assert.match(text, /sb_test_seconds_bucket\{le="0.0025",instance_name="a1"\} 0/);
  assert.match(text, /sb_test_seconds_bucket\{le="30",instance_name="a1"\} 1/);
  assert.doesNotMatch(text, /process_cpu/);
});
