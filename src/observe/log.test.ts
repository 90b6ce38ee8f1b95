import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { it } from 'node:test';
import { createLogger, traceIds } from './log.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

it('traceIds reads a W3C traceparent and refuses malformed or all-zero ones', () => {
  assert.deepEqual(traceIds(`00-${TRACE}-${SPAN}-01`), { trace_id: TRACE, span_id: SPAN });
  assert.deepEqual(traceIds(`00-${TRACE.toUpperCase()}-${SPAN}-00`), { trace_id: TRACE, span_id: SPAN });
  assert.equal(traceIds(undefined), undefined);
  assert.equal(traceIds('00-abc-def-01'), undefined);
  assert.equal(traceIds(`00-${'0'.repeat(32)}-${SPAN}-01`), undefined);
  assert.equal(traceIds(`00-${TRACE}-${'0'.repeat(16)}-01`), undefined);
});

it('writes one JSON line per entry with level name, ISO time and service; no ids outside a call', () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const log = createLogger({ service: 'orders', level: 'debug', destination, base: { version: '1.2.0' } });
  log.info({ order: 7 }, 'placed');
  log.debug('detail');
  log.trace('not written at debug');
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(first.level, 'info');
  assert.equal(first.service, 'orders');
  assert.equal(first.version, '1.2.0');
  assert.equal(first.order, 7);
  assert.equal(first.msg, 'placed');
  assert.match(String(first.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(first.trace_id, undefined);
  assert.equal(first.pid, undefined, 'no pid/hostname unless given in base');
  assert.equal((JSON.parse(lines[1]!) as Record<string, unknown>).level, 'debug');
});
