/** `switchboard certs`: a development CA and service certificates, through the real command line. */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli } from './cli-runner.ts';

describe('switchboard certs', () => {
  let dir: string;
  let certs: string;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-cli-certs-'));
    certs = path.join(dir, 'certs');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('init creates a CA with a private key only its owner reads, and will not replace it', async () => {
    const first = await cli(['certs', 'init', '--dir', certs, '--trust-domain', 'shop.test']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /ca\.crt/);
    assert.equal(statSync(path.join(certs, 'ca.key')).mode & 0o777, 0o600);
    const ca = new X509Certificate(readFileSync(path.join(certs, 'ca.crt')));
    assert.equal(ca.ca, true);
    assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const again = await cli(['certs', 'init', '--dir', certs]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /--force/);
  });

  it('issue makes a server-and-client certificate for a service, signed by the CA', async () => {
    const result = await cli([
      'certs',
      'issue',
      'orders',
      '--dns',
      'orders.shop,orders',
      '--dir',
      certs,
      '--days',
      '7',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /identity spiffe:\/\/shop\.test\/service\/orders/);
    assert.equal(statSync(path.join(certs, 'orders.key')).mode & 0o777, 0o600);
    const cert = new X509Certificate(readFileSync(path.join(certs, 'orders.crt')));
    const ca = new X509Certificate(readFileSync(path.join(certs, 'ca.crt')));
    assert.ok(cert.verify(ca.publicKey), 'signed by the CA');
    assert.ok(cert.checkIssued(ca));
    assert.equal(
      cert.subjectAltName,
      'URI:spiffe://shop.test/service/orders, DNS:localhost, DNS:orders.shop, DNS:orders, IP Address:127.0.0.1',
    );
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 6 && days <= 7, `valid for ${days} days`);
    assert.equal(cert.ca, false);
  });

  it('answers --help, and exit code 2 for a wrong command line, 1 without a CA', async () => {
    const help = await cli(['certs', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /switchboard certs init/);
    const noName = await cli(['certs', 'issue', '--dir', certs]);
    assert.equal(noName.code, 2);
    assert.match(noName.stderr, /needs a service name/);
    const badDays = await cli(['certs', 'issue', 'x', '--days', 'soon', '--dir', certs]);
    assert.equal(badDays.code, 2);
    const noCa = await cli(['certs', 'issue', 'x', '--dir', path.join(dir, 'empty')]);
    assert.equal(noCa.code, 1);
    assert.match(noCa.stderr, /certs init/);
  });
});
