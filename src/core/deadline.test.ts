import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Status, StatusError } from '../contract/index.ts';
import { earliest, formatGrpcTimeout, MAX_TIMEOUT_MS, parseGrpcTimeout, timeRemaining } from './deadline.ts';

describe('grpc-timeout', () => {
  it('parses every unit', () => {
    assert.equal(parseGrpcTimeout('2H'), 7_200_000);
    assert.equal(parseGrpcTimeout('3M'), 180_000);
    assert.equal(parseGrpcTimeout('4S'), 4000);
    assert.equal(parseGrpcTimeout('250m'), 250);
    assert.equal(parseGrpcTimeout('1500u'), 1.5);
    assert.equal(parseGrpcTimeout('2000000n'), 2);
  });

  it('caps huge values instead of overflowing timers', () => {
    assert.equal(parseGrpcTimeout('99999999H'), MAX_TIMEOUT_MS);
  });

  for (const bad of ['', 'm', '10', '10x', '-5m', '1.5S', '123456789m', ' 5m', '5 m']) {
    it(`refuses ${JSON.stringify(bad)} with INVALID_ARGUMENT`, () => {
      assert.throws(
        () => parseGrpcTimeout(bad),
        (err: unknown) => err instanceof StatusError && err.code === Status.INVALID_ARGUMENT,
      );
    });
  }

  it('formats with at most 8 digits and round-trips', () => {
    assert.equal(formatGrpcTimeout(1234.2), '1235m');
    assert.equal(formatGrpcTimeout(0), '0m');
    assert.equal(formatGrpcTimeout(-5), '0m');
    assert.equal(formatGrpcTimeout(200_000_000), '200000S');
    for (const ms of [1, 999, 99_999_999, 100_000_000, 2 ** 31 - 1]) {
      const text = formatGrpcTimeout(ms);
      assert.ok(text.length <= 9, text);
      assert.ok(parseGrpcTimeout(text) >= ms, `${text} < ${ms}`);
    }
  });
});

describe('deadlines', () => {
  it('knows the time remaining and the earlier of two', () => {
    assert.equal(timeRemaining(Infinity), Infinity);
    assert.equal(timeRemaining(1000, 400), 600);
    assert.equal(timeRemaining(1000, 4000), 0);
    assert.equal(earliest(5, 7), 5);
    assert.equal(earliest(9, 7), 7);
    assert.equal(earliest(9, undefined), 9);
  });
});
