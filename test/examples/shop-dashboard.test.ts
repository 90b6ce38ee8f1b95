/**
 * The shop as a user starts it — `switchboard dev examples/shop`, the real CLI in a process of
 * its own — watched through what Switchboard shows: the start-up time and the dashboard's
 * address; one trace from the REST gateway through gRPC and the queue to the payments
 * consumer; the dashboard in real Chromium (graph, live numbers, the trace's waterfall;
 * screenshots in test/artifacts/shop-dashboard/); /metrics of the hub, the gateway and a
 * gRPC-only service read by Prometheus's parser; and Ctrl-C leaving nothing behind.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { chromiumMissing, launchChromium } from '../dashboard/browser.ts';
import { processOrGroupAlive as alive, killGroup } from '../support/processes.ts';
import { family, parseWithPython, scrape } from '../support/prometheus-text.ts';
import { sleep, waitFor } from '../support/wait.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ARTIFACTS = path.join(REPO, 'test/artifacts/shop-dashboard');
const SERVICES = ['gateway', 'inventory', 'notifications', 'orders', 'payments', 'traffic'];
/** The bar for `npm start`: the demo up, the dashboard's address printed. */
const START_LIMIT_MS = 30_000;
const PLACED = 'shop.orders.placed';

interface SpanView {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  kind: string;
  attributes: Record<string, string | number | boolean>;
}

interface TraceSummary {
  traceId: string;
  services: string[];
  startMs: number;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  assert.equal(response.status, 200, url);
  return (await response.json()) as T;
}

/**
 * The spans of one order's way, each a descendant of the one before: the gateway's REST
 * server span → orders' gRPC server span → the OrderPlaced producer span → payments' consumer
 * span. Undefined while some are missing (spans arrive in batches from six processes).
 */
function orderChain(spans: SpanView[]): SpanView[] | undefined {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const descends = (span: SpanView, ancestor: SpanView) => {
    for (let at = span; at.parentSpanId !== undefined; ) {
      const parent = byId.get(at.parentSpanId);
      if (!parent) return false;
      if (parent === ancestor) return true;
      at = parent;
    }
    return false;
  };
  const gateway = spans.find(
    (s) => s.service === 'gateway' && s.kind === 'server' && s.attributes['network.protocol.name'] === 'http',
  );
  const orders = spans.find(
    (s) => s.service === 'orders' && s.kind === 'server' && s.attributes['rpc.system'] === 'grpc',
  );
  const produced = spans.find(
    (s) => s.kind === 'producer' && s.attributes['messaging.destination.name'] === PLACED,
  );
  const consumed = spans.find(
    (s) =>
      s.service === 'payments' &&
      s.kind === 'consumer' &&
      s.attributes['messaging.destination.name'] === PLACED &&
      s.parentSpanId === produced?.spanId,
  );
  if (!gateway || !orders || !produced || !consumed) return undefined;
  if (!descends(orders, gateway) || !descends(produced, orders)) return undefined;
  return [gateway, orders, produced, consumed];
}

describe('switchboard dev examples/shop, watched', { timeout: 90_000 }, () => {
  let dev: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;
  let hubUrl = '';
  let startupMs = 0;
  let browser: Browser | undefined;
  /** A trace holding the whole chain, found through the hub's API. */
  let chainTrace = '';
  const servicePids = () =>
    [...output.matchAll(/^\S+\s+│ started \(pid (\d+)\)$/gm)].map((m) => Number(m[1]));

  before(async () => {
    const started = Date.now();
    // Its own process group, so that the whole tree can be killed whatever happens.
    dev = spawn(process.execPath, ['bin/switchboard.js', 'dev', 'examples/shop', '--port', '0'], {
      cwd: REPO,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Spans leave each process every second instead of every five: the test waits less.
      env: { ...devEnv(), NO_COLOR: '1', OTEL_BSP_SCHEDULE_DELAY: '1000' },
    });
    const collect = (chunk: string) => {
      output += chunk;
    };
    dev.stdout?.setEncoding('utf8').on('data', collect);
    dev.stderr?.setEncoding('utf8').on('data', collect);
    // Never outlives the test, whatever happens (its services' orphan guards then stop them).
    const guard = setTimeout(() => killGroup(dev.pid as number), 90_000);
    guard.unref();
    exited = new Promise((resolve) =>
      dev.once('exit', (code) => {
        clearTimeout(guard);
        resolve(code);
      }),
    );
    const dashboardLine = /^dev\s+│ dashboard: (http:\/\/127\.0\.0\.1:\d+)\/$/m;
    await waitFor(() => dashboardLine.test(output) || dev.exitCode !== null, 60_000).catch(() => {});
    const match = dashboardLine.exec(output);
    assert.ok(match, `dev printed no dashboard line:\n${output}`);
    startupMs = Date.now() - started;
    hubUrl = match[1] as string;
  });

  after(async () => {
    await browser?.close();
    for (const pid of servicePids()) killGroup(pid);
    if (dev?.pid !== undefined) killGroup(dev.pid);
  });

  it(`is up, every service ready, in under ${START_LIMIT_MS / 1000} s, and says where the dashboard is`, (t) => {
    t.diagnostic(`start-up: ${startupMs} ms from spawn to the dashboard line`);
    console.log(`shop start-up: ${startupMs} ms`);
    assert.match(output, /^dev\s+│ all 6 services ready in \d+ ms$/m);
    for (const name of SERVICES) assert.match(output, new RegExp(`^${name}\\s+│ ready in \\d+ ms`, 'm'));
    // The dashboard's address is the last line of the start-up summary.
    const devLines = output.split('\n').filter((line) => /^(dev|hub)\s+│/.test(line));
    const allReady = devLines.findIndex((line) => /│ all 6 services ready/.test(line));
    assert.match(devLines[allReady + 1] ?? '', /│ dashboard: http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.ok(startupMs < START_LIMIT_MS, `started in ${startupMs} ms`);
  });

  it('records one trace from the REST gateway through gRPC and the queue to payments', async () => {
    let chain: SpanView[] | undefined;
    await waitFor(async () => {
      const { traces } = await getJson<{ traces: TraceSummary[] }>(
        `${hubUrl}/api/v1/traces?limit=100&service=payments`,
      );
      for (const summary of traces.filter((t) => t.services.includes('gateway'))) {
        const { spans } = await getJson<{ spans: SpanView[] }>(`${hubUrl}/api/v1/traces/${summary.traceId}`);
        chain = orderChain(spans);
        if (chain) return true;
      }
      await sleep(500);
      return false;
    }, 30_000).catch(() => assert.fail(`no trace held the whole chain\n${output.slice(-3000)}`));
    const [gateway, orders, produced, consumed] = chain as SpanView[];
    chainTrace = gateway!.traceId;
    for (const span of chain!) assert.equal(span.traceId, chainTrace);
    assert.equal(gateway!.name, 'shop.v1.Gateway/PlaceOrder');
    assert.equal(orders!.name, 'shop.v1.Orders/PlaceOrder');
    assert.equal(produced!.service, 'orders');
    assert.equal(produced!.parentSpanId, orders!.spanId, 'orders publishes inside PlaceOrder');
    assert.equal(consumed!.parentSpanId, produced!.spanId);
  });

  it('shows the shop on the dashboard: graph, moving numbers, the trace', {
    skip: chromiumMissing(),
  }, async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
    page.setDefaultTimeout(15_000);
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${hubUrl}/`);
    await page.locator('[data-testid=live-status][data-state=live]').waitFor();
    for (const name of [...SERVICES, `topic:${PLACED}`, 'topic:shop.payments.succeeded']) {
      await page.locator(`[data-testid=node][data-node="${name}"]`).waitFor();
    }
    const edge = page.locator('[data-testid=edge][data-from="gateway"][data-to="orders"]');
    await edge.waitFor({ state: 'attached' });
    assert.equal(await edge.getAttribute('data-transport'), 'grpc');
    await page
      .locator(`[data-testid=edge][data-from="orders"][data-to="topic:${PLACED}"]`)
      .waitFor({ state: 'attached' });
    await page
      .locator(`[data-testid=edge][data-from="topic:${PLACED}"][data-to="payments"]`)
      .waitFor({ state: 'attached' });
    // A horizontal arrow has no height, which Playwright calls hidden: its label must show.
    const label = page.locator('[data-testid=edge-label][data-from="gateway"][data-to="orders"]');
    assert.match((await label.textContent()) ?? '', /\/s · [\d.]+ %\s*p99 [\d.]+ m?s · grpc$/);
    assert.equal(await label.isVisible(), true);
    const first = Number(await edge.getAttribute('data-count'));
    assert.ok(first > 0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'overview.png'), fullPage: true });
    await waitFor(async () => Number(await edge.getAttribute('data-count')) !== first, 15_000).catch(() =>
      assert.fail(`the gateway → orders count stayed ${first}`),
    );

    // The page lists the 50 newest traces; the traffic generator makes about five a second.
    let opened = false;
    for (let attempt = 0; attempt < 3 && !opened; attempt++) {
      const row = page.locator(`[data-testid=trace-row][data-trace-id="${chainTrace}"]`);
      opened = await row
        .waitFor({ timeout: 5_000 })
        .then(() => true)
        .catch(() => false);
      if (opened) await row.getByTestId('trace-open').click();
      else chainTrace = await newestChainTrace(hubUrl);
    }
    assert.ok(opened, 'the trace was never listed on the page');
    const spans = page.getByTestId('waterfall').getByTestId('span-row');
    await waitFor(async () => (await spans.count()) >= 8, 10_000);
    const services = new Set(
      await spans.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-service'))),
    );
    for (const name of ['gateway', 'orders', 'inventory', 'payments', 'notifications'])
      assert.ok(services.has(name), `${name} in the waterfall: ${[...services].join(', ')}`);
    const depths = await spans.evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-depth'))));
    assert.ok(Math.max(...depths) >= 5, `a deep tree: depths ${depths.join(',')}`);
    await page.getByTestId('waterfall').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, 'trace.png'), fullPage: true });
    assert.deepEqual(pageErrors, []);
  });

  it('serves /metrics that Prometheus parses: the hub, the gateway, gRPC-only orders', async () => {
    const metricsOf = async (service: string) => {
      const { instances } = await getJson<{ instances: { metadata?: Record<string, string> }[] }>(
        `${hubUrl}/api/v1/services/${service}`,
      );
      const url = instances[0]?.metadata?.metrics;
      assert.ok(url, `${service} names no metrics URL: ${JSON.stringify(instances)}`);
      return url;
    };
    const hub = await parseWithPython((await scrape(`${hubUrl}/metrics`)).text);
    const registered = family(hub, 'switchboard_hub_instances').samples.map((s) => s.labels.service);
    assert.ok(registered.includes('shop.v1.Orders'), registered.join(', '));
    assert.ok(family(hub, 'switchboard_consumer_lag').samples.some((s) => s.labels.topic === PLACED));

    const gatewayUrl = await metricsOf('shop.v1.Gateway');
    const gateway = await parseWithPython((await scrape(gatewayUrl)).text);
    const served = family(gateway, 'switchboard_server_requests').samples;
    assert.ok(served.some((s) => s.labels.transport === 'http' && Number(s.value) > 0));

    const ordersUrl = await metricsOf('shop.v1.Orders');
    const { instances } = await getJson<{ instances: { endpoints: { transport: string }[] }[] }>(
      `${hubUrl}/api/v1/services/shop.v1.Orders`,
    );
    assert.deepEqual(
      instances[0]?.endpoints.map((e) => e.transport),
      ['grpc'],
      'orders has no HTTP transport',
    );
    const orders = await parseWithPython((await scrape(ordersUrl)).text);
    const grpc = family(orders, 'switchboard_server_requests').samples;
    assert.ok(grpc.some((s) => s.labels.transport === 'grpc' && s.labels.method === 'PlaceOrder'));
    const published = family(orders, 'switchboard_messages_published').samples;
    assert.ok(published.some((s) => s.labels.topic === PLACED && Number(s.value) > 0));
  });

  it('stops on Ctrl-C with exit code 0, leaving no service running', async () => {
    const pids = servicePids();
    assert.equal(pids.length, SERVICES.length);
    dev.kill('SIGINT');
    const code = await Promise.race([exited, sleep(15_000).then(() => 'still running')]);
    assert.equal(code, 0, output.slice(-3000));
    assert.match(output, /^dev\s+│ stopped$/m);
    for (const name of SERVICES) assert.match(output, new RegExp(`^${name}\\s+│ stopped in \\d+ ms$`, 'm'));
    await waitFor(() => pids.every((pid) => !alive(pid)), 5_000).catch(() =>
      assert.fail(`left running: ${pids.filter(alive).join(', ')}`),
    );
  });
});

/** This environment without a developer's own hub or broker, which must not leak in. */
function devEnv(): NodeJS.ProcessEnv {
  const { SWITCHBOARD_HUB: _, SWITCHBOARD_BROKER: __, ...rest } = process.env;
  return rest;
}

/** The newest trace holding the whole chain, for when an older one left the page's list. */
async function newestChainTrace(hubUrl: string): Promise<string> {
  const { traces } = await getJson<{ traces: TraceSummary[] }>(
    `${hubUrl}/api/v1/traces?limit=30&service=payments`,
  );
  for (const summary of traces) {
    const { spans } = await getJson<{ spans: SpanView[] }>(`${hubUrl}/api/v1/traces/${summary.traceId}`);
    if (orderChain(spans)) return summary.traceId;
  }
  return '';
}
