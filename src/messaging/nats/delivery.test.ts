import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ackSubjectCounts } from './delivery.ts';

describe('ackSubjectCounts', () => {
  it('reads the delivery count and stream sequence of both ack subject forms', () => {
    assert.deepEqual(ackSubjectCounts('$JS.ACK.S.C.3.1042.17.1733190000000000000.5'), {
      attempt: 3,
      seq: 1042,
    });
    assert.deepEqual(ackSubjectCounts('$JS.ACK._.HASH.S.C.1.7.7.1733190000000000000.0.xyz'), {
      attempt: 1,
      seq: 7,
    });
  });

  it('gives up on anything else, for the client to parse', () => {
    for (const reply of [
      '',
      '_INBOX.abc',
      '$JS.ACK.S.C.3',
      '$JS.ACK.S.C.x.1.1.1.0',
      '$JS.ACK.S.C.0.1.1.1.0',
    ]) {
      assert.equal(ackSubjectCounts(reply), undefined, reply);
    }
  });
});
