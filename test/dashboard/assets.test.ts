/**
 * The hub serves the dashboard's page: right content types, revalidation with ETags, 404 for
 * names that are not assets, and nothing outside the assets folder whatever the path says.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HubServer } from '../../src/hub/server.ts';
import { rawRequest } from '../support/raw-http.ts';

const ASSETS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/hub/dashboard/assets');

describe('dashboard assets', { timeout: 30_000 }, () => {
  const hub = new HubServer({ port: 0, broker: false });

  before(async () => {
    await hub.listen();
  });
  after(async () => {
    await hub.close();
  });

  it('answers the page at / and /dashboard/ as HTML that loads its module', async () => {
    for (const at of ['/', '/dashboard', '/dashboard/', '/dashboard/index.html']) {
      const res = await rawRequest(hub.url, 'GET', at);
      assert.equal(res.status, 200, at);
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8', at);
      assert.match(res.text, /<script type="module" src="\/dashboard\/app\.js"><\/script>/, at);
      assert.match(String(res.headers['content-security-policy']), /script-src 'self'/);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    }
  });

  it('serves every asset with its content type, and every module the page imports exists', async () => {
    const types: Record<string, string> = {
      '.js': 'text/javascript; charset=utf-8',
      '.css': 'text/css; charset=utf-8',
      '.html': 'text/html; charset=utf-8',
    };
    const files = readdirSync(ASSETS);
    assert.ok(files.includes('app.js') && files.includes('style.css'));
    for (const file of files) {
      const res = await rawRequest(hub.url, 'GET', `/dashboard/${file}`);
      assert.equal(res.status, 200, file);
      assert.equal(res.headers['content-type'], types[path.extname(file)], file);
      assert.equal(res.text, readFileSync(path.join(ASSETS, file), 'utf8'), file);
      // Every relative import of a module names a file that is served.
      for (const [, imported] of res.text.matchAll(/from '\.\/([^']+)'/g)) {
        const dep = await rawRequest(hub.url, 'GET', `/dashboard/${imported}`);
        assert.equal(dep.status, 200, `${file} imports ${imported}`);
      }
    }
  });

  it('revalidates with the ETag: 304 when unchanged, and HEAD sends no body', async () => {
    const first = await rawRequest(hub.url, 'GET', '/dashboard/app.js');
    const etag = String(first.headers.etag);
    assert.match(etag, /^"[\w-]+"$/);
    assert.equal(first.headers['cache-control'], 'no-cache');
    const again = await rawRequest(hub.url, 'GET', '/dashboard/app.js', {
      headers: { 'if-none-match': etag },
    });
    assert.equal(again.status, 304);
    assert.equal(again.text, '');
    const stale = await rawRequest(hub.url, 'GET', '/dashboard/app.js', {
      headers: { 'if-none-match': '"something-else"' },
    });
    assert.equal(stale.status, 200);
    const head = await rawRequest(hub.url, 'HEAD', '/dashboard/style.css');
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    assert.equal(Number(head.headers['content-length']), readFileSync(path.join(ASSETS, 'style.css')).length);
  });

  it('answers 404 for unknown assets and 405 for other methods', async () => {
    for (const at of [
      '/dashboard/missing.js',
      '/dashboard/app.ts',
      '/dashboard/sub/app.js',
      '/dashboard/.hidden',
    ]) {
      const res = await rawRequest(hub.url, 'GET', at);
      assert.equal(res.status, 404, at);
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8', at);
    }
    const post = await rawRequest(hub.url, 'POST', '/dashboard/app.js', { body: '{}' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });

  it('never serves a file outside the assets folder', async () => {
    // dashboard-assets.ts sits one folder up, server.ts two; package.json at the root.
    const attempts = [
      '/dashboard/../dashboard-assets.ts',
      '/dashboard/%2e%2e/dashboard-assets.ts',
      '/dashboard/..%2fdashboard-assets.ts',
      '/dashboard/%2e%2e%2fdashboard-assets.ts',
      '/dashboard/..%5cdashboard-assets.ts',
      '/dashboard/....//server.ts',
      '/dashboard/%2e%2e/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/dashboard//etc/passwd',
      '/dashboard/%2fetc%2fpasswd',
      '/dashboard/app.js%00.css',
    ];
    for (const at of attempts) {
      const res = await rawRequest(hub.url, 'GET', at);
      assert.ok(res.status === 404 || res.status === 400, `${at}: ${res.status}`);
      assert.doesNotMatch(res.text, /import|"name": "switchboard"|root:/, at);
    }
  });

  it('leaves the hub API alone', async () => {
    const res = await rawRequest(hub.url, 'GET', '/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { status: 'SERVING' });
    const unknown = await rawRequest(hub.url, 'GET', '/nothing-here');
    assert.equal(unknown.status, 404);
    assert.match(unknown.text, /no hub endpoint/);
  });
});
