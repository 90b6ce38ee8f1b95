/**
 * The layering of docs/architecture.md, enforced: each top-level folder of src/ may import
 * only the folders listed for it. Tests are exempt (they may start a hub to test a client).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');

const ALLOWED: Record<string, readonly string[]> = {
  contract: [],
  governance: [],
  core: ['contract'],
  transports: ['core', 'contract'],
  // The hub client reads the hub's server-sent events with the HTTP transport's SSE parser.
  discovery: ['contract', 'governance', 'transports'],
  cluster: ['core', 'contract', 'discovery', 'governance'],
  // Broker adapters reconnect with governance's backoff; nothing in messaging knows calls or transports.
  messaging: ['governance', 'contract'],
  services: ['core', 'messaging', 'contract'],
  // Tracing, metrics and logs: interceptors and broker decorators; the one socket of their own,
  // the metrics listener, is bounded like every listener (transports/listener-limits.ts).
  observe: ['core', 'messaging', 'governance', 'transports', 'contract'],
  app: [
    'observe',
    'cluster',
    'services',
    'transports',
    'discovery',
    'messaging',
    'governance',
    'core',
    'contract',
  ],
  hub: ['observe', 'services', 'governance', 'discovery', 'messaging', 'transports', 'core', 'contract'],
  cli: [
    'app',
    'observe',
    'hub',
    'cluster',
    'services',
    'transports',
    'discovery',
    'messaging',
    'governance',
    'core',
    'contract',
  ],
};

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    // testdata/ holds test fixtures, which may use test/support like the tests beside them.
    if (entry.isDirectory()) {
      if (entry.name !== 'testdata') yield* sources(full);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) yield full;
  }
}

function layerOf(file: string): string | undefined {
  const relative = path.relative(SRC, file);
  return relative.includes(path.sep) ? relative.split(path.sep)[0] : undefined;
}

it('every src/ folder imports only the layers below it', () => {
  const violations: string[] = [];
  for (const file of sources(SRC)) {
    const from = layerOf(file);
    if (!from) continue;
    const allowed = ALLOWED[from];
    assert.ok(allowed, `src/${from}/ is not in the layer map of test/architecture.test.ts`);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
      const to = layerOf(path.resolve(path.dirname(file), match[1] ?? ''));
      if (to && to !== from && !allowed.includes(to)) {
        violations.push(`${path.relative(SRC, file)} imports ${to}/ (${match[1]})`);
      }
    }
  }
  assert.deepEqual(violations, []);
});
