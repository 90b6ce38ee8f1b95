/** PEM files: validation, the watch (rename into place, half-written files) and clients' re-reads. */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../../test/support/wait.ts';
import { createDevCa, type IssuedCert, issueDevCert } from '../../cli/dev-certs.ts';
import { clientTlsMaterial } from './client-tls.ts';
import { parseSubjectAltName } from './peer-identity.ts';
import { readTlsFiles, type TlsMaterial } from './tls-files.ts';
import { watchTlsFiles } from './watch-tls-files.ts';

describe('TLS files', () => {
  let dir: string;
  let one: IssuedCert;
  let two: IssuedCert;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-tls-files-'));
    await createDevCa({ dir });
    one = await issueDevCert({ dir, service: 'one' });
    two = await issueDevCert({ dir, service: 'two' });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a key that is not the certificate’s, naming the files', () => {
    assert.throws(
      () => readTlsFiles({ certFile: one.certFile, keyFile: two.keyFile }),
      /two\.key is not the key of .*one\.crt/,
    );
    assert.throws(() => readTlsFiles({ certFile: one.certFile }), /go together/);
    assert.ok(readTlsFiles({ certFile: one.certFile, keyFile: one.keyFile, caFile: one.caFile }).cert);
  });

  it('follows a pair renamed into place, and ignores a broken one', async () => {
    const certFile = path.join(dir, 'live.crt');
    const keyFile = path.join(dir, 'live.key');
    copyFileSync(one.certFile, certFile);
    copyFileSync(one.keyFile, keyFile);
    const changes: TlsMaterial[] = [];
    const errors: Error[] = [];
    const watch = watchTlsFiles({ certFile, keyFile }, (m) => changes.push(m), {
      onError: (e) => errors.push(e),
      debounceMs: 50,
    });
    try {
      // Replace both by rename, as tools do: the watch survives the old inodes going away.
      copyFileSync(two.keyFile, `${keyFile}.new`);
      copyFileSync(two.certFile, `${certFile}.new`);
      renameSync(`${keyFile}.new`, keyFile);
      renameSync(`${certFile}.new`, certFile);
      await waitFor(() => changes.length === 1, 3000);
      assert.ok(changes[0]!.cert!.equals(readFileSync(two.certFile)));
      // A half-written certificate: reported, the current material stays.
      writeFileSync(certFile, readFileSync(one.certFile, 'utf8').slice(0, 100));
      await waitFor(() => errors.length > 0, 3000);
      assert.ok(watch.current.cert!.equals(readFileSync(two.certFile)));
      assert.equal(changes.length, 1);
    } finally {
      watch.close();
    }
  });

  it('gives clients the new files for new connections, and the old ones while a file is broken', () => {
    const certFile = path.join(dir, 'client.crt');
    const keyFile = path.join(dir, 'client.key');
    copyFileSync(one.certFile, certFile);
    copyFileSync(one.keyFile, keyFile);
    const errors: Error[] = [];
    const material = clientTlsMaterial({ certFile, keyFile, onTlsFileError: (e) => errors.push(e) });
    assert.ok(Buffer.from(material().cert!).equals(readFileSync(one.certFile)));
    copyFileSync(two.keyFile, keyFile);
    copyFileSync(two.certFile, certFile);
    assert.ok(Buffer.from(material().cert!).equals(readFileSync(two.certFile)));
    writeFileSync(keyFile, 'not a key');
    assert.ok(Buffer.from(material().cert!).equals(readFileSync(two.certFile)));
    assert.equal(errors.length, 1);
  });

  it('splits subjectaltname strings, quoted values included', () => {
    assert.deepEqual(
      parseSubjectAltName('URI:spiffe://a/service/b, DNS:localhost, IP Address:127.0.0.1, DNS:"x,y"'),
      { uris: ['spiffe://a/service/b'], dnsNames: ['localhost', 'x,y'] },
    );
  });
});
