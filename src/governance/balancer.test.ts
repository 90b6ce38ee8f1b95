import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BALANCER_NAMES,
  type Balancer,
  createBalancer,
  DEFAULT_BALANCER,
  isBalancerName,
} from './balancer.ts';
import { FakeClock, seededRandom } from './fake-clock.ts';

describe('createBalancer', () => {
  it('makes each named balancer, p2c_peak_ewma by default', () => {
    for (const name of BALANCER_NAMES) assert.equal(createBalancer(name).name, name);
    assert.equal(DEFAULT_BALANCER, 'p2c_peak_ewma');
    assert.equal(createBalancer().name, 'p2c_peak_ewma');
  });

  it('refuses an unknown name with the list of known ones', () => {
    assert.throws(
      () => createBalancer('fastest' as never),
      (err: unknown) => err instanceof TypeError && err.message.includes('round_robin'),
    );
    assert.equal(isBalancerName('random'), true);
    assert.equal(isBalancerName('fastest'), false);
    assert.equal(isBalancerName(undefined), false);
  });

  it('passes peak EWMA options through', () => {
    assert.throws(() => createBalancer('p2c_peak_ewma', { peakEwma: { decayMs: 0 } }), RangeError);
  });
});

/** Commands a client may interleave with picks. */
type Step =
  | { kind: 'pick'; size: number }
  | { kind: 'end'; index: number; latencyMs: number; ok: boolean }
  | { kind: 'advance'; ms: number }
  | { kind: 'retain'; size: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('pick' as const), size: fc.integer({ min: 0, max: 8 }) }),
  fc.record({
    kind: fc.constant('end' as const),
    index: fc.nat(),
    latencyMs: fc.oneof(fc.double({ min: -5, max: 1e5 }), fc.constantFrom(Number.NaN, Infinity)),
    ok: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 60_000 }) }),
  fc.record({ kind: fc.constant('retain' as const), size: fc.integer({ min: 0, max: 8 }) }),
);

describe('every balancer (properties)', () => {
  for (const name of BALANCER_NAMES) {
    it(`${name}: returns a member of the candidates, undefined iff there are none`, () => {
      fc.assert(
        fc.property(fc.array(step, { maxLength: 60 }), fc.integer(), (steps, seed) => {
          const clock = new FakeClock();
          const balancer: Balancer = createBalancer(name, { clock, random: seededRandom(seed) });
          const begun: string[] = [];
          for (const s of steps) {
            if (s.kind === 'pick') {
              const candidates = Array.from({ length: s.size }, (_, i) => ({ key: `k${i}`, extra: i }));
              const picked = balancer.pick(candidates);
              if (s.size === 0) assert.equal(picked, undefined);
              else {
                assert.ok(picked !== undefined && candidates.includes(picked));
                balancer.begin(picked.key);
                begun.push(picked.key);
              }
            } else if (s.kind === 'end' && begun.length > 0) {
              const [key] = begun.splice(s.index % begun.length, 1);
              balancer.end(key!, { latencyMs: s.latencyMs, ok: s.ok });
            } else if (s.kind === 'advance') {
              clock.advance(s.ms);
            } else if (s.kind === 'retain') {
              balancer.retain(new Set(Array.from({ length: s.size }, (_, i) => `k${i}`)));
            }
          }
        }),
        { numRuns: 200 },
      );
    });
  }
});
