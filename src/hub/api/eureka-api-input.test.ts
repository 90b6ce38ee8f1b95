import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type EurekaHub, errorOf, javaInstance, startEurekaHub } from '../../../test/support/eureka-hub.ts';

describe('hub Eureka API', () => {
  let eureka: EurekaHub;
  let hub: EurekaHub['hub'];
  let call: EurekaHub['call'];
  let register: EurekaHub['register'];
  let base = '';

  before(async () => {
    eureka = await startEurekaHub();
    ({ hub, call, register } = eureka);
    base = hub.url;
  });
  after(() => eureka.hub.close());

  describe('bad input', () => {
    const bad: [string, unknown, RegExp][] = [
      ['no instance', { app: 'X' }, /"instance"/],
      ['instance not an object', { instance: 'X' }, /"instance"/],
      [
        'missing app',
        { instance: { ...javaInstance('BAD', 'b-1'), app: undefined } },
        /instance\.app: missing/,
      ],
      [
        'missing hostName',
        { instance: { ...javaInstance('BAD', 'b-1'), hostName: '' } },
        /hostName: missing/,
      ],
      ['missing ipAddr', { instance: { ...javaInstance('BAD', 'b-1'), ipAddr: null } }, /ipAddr: missing/],
      ['port out of range', { instance: javaInstance('BAD', 'b-1', { port: { $: 70000 } }) }, /port/],
      ['port not a number', { instance: javaInstance('BAD', 'b-1', { port: { $: 'http' } }) }, /port\.\$/],
      [
        'bad @enabled',
        { instance: javaInstance('BAD', 'b-1', { port: { $: 1, '@enabled': 'yes' } }) },
        /@enabled/,
      ],
      [
        'no enabled port',
        { instance: javaInstance('BAD', 'b-1', { port: { $: 80, '@enabled': false } }) },
        /address/,
      ],
      ['bad status', { instance: javaInstance('BAD', 'b-1', { status: 'SLEEPY' }) }, /SLEEPY/],
      ['bad id', { instance: javaInstance('BAD', 'has space') }, /id/],
      ['bad app name', { instance: javaInstance('B A D', 'b-1') }, /service/],
      [
        'metadata not strings',
        { instance: javaInstance('BAD', 'b-1', { metadata: { a: { b: 1 } } }) },
        /metadata\.a/,
      ],
      [
        'bad switchboard-endpoints',
        { instance: javaInstance('BAD', 'b-1', { metadata: { 'switchboard-endpoints': 'smtp://h:25' } }) },
        /switchboard-endpoints/,
      ],
      [
        'lease not a number',
        { instance: javaInstance('BAD', 'b-1', { leaseInfo: { durationInSecs: 'x' } }) },
        /durationInSecs/,
      ],
    ];
    for (const [name, body, message] of bad) {
      it(`answers 400 for ${name}`, async () => {
        const answer = await call('POST', '/eureka/apps/BAD', body);
        assert.equal(answer.status, 400, answer.text);
        assert.match(errorOf(answer), message);
      });
    }

    it('answers 400 for an app that differs from the path, malformed JSON and an empty body', async () => {
      const mismatch = await register('ORDERS', 'o-1').then(() =>
        call('POST', '/eureka/apps/OTHER', { instance: javaInstance('ORDERS', 'o-1') }),
      );
      await call('DELETE', '/eureka/apps/ORDERS/o-1');
      assert.equal(mismatch.status, 400);
      assert.match(errorOf(mismatch), /mismatched app name/);
      const malformed = await call('POST', '/eureka/apps/X', '{"instance": {');
      assert.equal(malformed.status, 400);
      assert.match(errorOf(malformed), /malformed JSON/);
      assert.equal((await call('POST', '/eureka/apps/X', '')).status, 400);
      assert.deepEqual(
        hub.registry.services().filter((s) => ['BAD', 'X', 'OTHER'].includes(s)),
        [],
      );
    });

    it('answers 415 for XML and 406 when JSON is not acceptable', async () => {
      const xml = await call('POST', '/eureka/apps/X', '<instance><app>X</app></instance>', {
        'content-type': 'application/xml',
      });
      assert.equal(xml.status, 415);
      assert.match(errorOf(xml), /JSON only/);
      const accept = await call('GET', '/eureka/apps', undefined, { accept: 'application/xml' });
      assert.equal(accept.status, 406);
      assert.equal((await call('GET', '/eureka/apps', undefined, { accept: '*/*' })).status, 200);
    });

    it('answers 400 for bad query parameters and percent-encoding', async () => {
      await register('ORDERS', 'q-1');
      try {
        assert.match(errorOf(await call('PUT', '/eureka/apps/ORDERS/q-1?status=NAPPING')), /NAPPING/);
        assert.match(errorOf(await call('PUT', '/eureka/apps/ORDERS/q-1?lastDirtyTimestamp=soon')), /number/);
        assert.equal((await call('PUT', '/eureka/apps/ORDERS/q-1/status')).status, 400);
        assert.equal((await call('PUT', '/eureka/apps/ORDERS/q-1/metadata')).status, 400);
        const meta = await call(
          'PUT',
          '/eureka/apps/ORDERS/q-1/metadata?switchboard-endpoints=ftp%3A%2F%2Fh%3A1',
        );
        assert.equal(meta.status, 400);
        assert.equal((await call('GET', '/eureka/apps/%E0%A4%A')).status, 400);
      } finally {
        await call('DELETE', '/eureka/apps/ORDERS/q-1');
      }
    });

    it('answers 413 for an oversized body', async () => {
      const big = { instance: javaInstance('BIG', 'big-1', { metadata: { pad: 'x'.repeat(300_000) } }) };
      const answer = await call('POST', '/eureka/apps/BIG', big);
      assert.equal(answer.status, 413);
    });

    it('survives a truncated body and a slow one, answering others meanwhile', async () => {
      const body = JSON.stringify({ instance: javaInstance('SLOW', 's-1') });
      const head = (length: number) =>
        `POST /eureka/apps/SLOW HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;
      // Truncated: declares more than it sends, then goes away.
      const truncated = net.connect(new URL(base).port as unknown as number, '127.0.0.1');
      await new Promise((resolve) => truncated.once('connect', resolve));
      truncated.end(head(body.length + 100) + body);
      // Slow: sends half the body and stalls.
      const slow = net.connect(new URL(base).port as unknown as number, '127.0.0.1');
      await new Promise((resolve) => slow.once('connect', resolve));
      slow.write(head(body.length) + body.slice(0, 40));
      try {
        assert.equal((await call('GET', '/eureka/apps')).status, 200);
        assert.equal(hub.registry.list('SLOW').length, 0);
        // The slow one finishes late and is registered then.
        slow.write(body.slice(40));
        const reply = await new Promise<string>((resolve) => slow.once('data', (d) => resolve(String(d))));
        assert.match(reply, /^HTTP\/1.1 204/);
        assert.equal(hub.registry.list('SLOW').length, 1);
      } finally {
        slow.destroy();
        truncated.destroy();
        await call('DELETE', '/eureka/apps/SLOW/s-1');
      }
    });
  });
});
