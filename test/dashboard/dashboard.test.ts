/**
 * The dashboard in real Chromium against a real hub with real traffic: services and the calls
 * between them in the graph with numbers that move, instances, topics, a trace as a waterfall,
 * a contract, and the live indicator when the hub goes away. Screenshots are kept in
 * test/artifacts/dashboard/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { HubServer } from '../../src/hub/server.ts';
import { artifact, chromiumMissing, launchChromium } from './browser.ts';
import { startTracedSystem, TOPIC, type TracedSystem } from './traced-system.ts';

const EDGE = '[data-testid=edge][data-from="shop.Frontend"][data-to="greet.Greeter"]';

/** Polls what the page shows (every 100 ms) until `predicate` holds; fails naming `what`. */
async function until(what: string, predicate: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) assert.fail(`the page did not show ${what} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Waits for an edge's arrow to be drawn. A level arrow's box has no height, which Playwright
 * calls hidden, so "drawn" is: attached, with a path of some length.
 */
async function edgeDrawn(page: Page, selector: string): Promise<void> {
  const edge = page.locator(selector);
  await edge.waitFor({ state: 'attached' });
  const length = await edge
    .locator('path.edge-line')
    .evaluate((path) => (path as unknown as { getTotalLength(): number }).getTotalLength());
  assert.ok(length > 20, `${selector}: a path ${length} px long`);
}

describe('dashboard page', { skip: chromiumMissing(), timeout: 120_000 }, () => {
  let system: TracedSystem;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let restarted: HubServer | undefined;
  let hubUrl = '';

  before(async () => {
    system = await startTracedSystem();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (message) => {
      // The policy refusing something the page does is a bug of the page.
      if (/content security policy|refused to/i.test(message.text())) pageErrors.push(message.text());
    });
    hubUrl = system.hub.url;
    await page.goto(`${hubUrl}/`);
  });

  after(async () => {
    await browser?.close();
    await system?.close();
    await restarted?.close();
  });

  it('goes live and draws every service, the topic, and the calls between them', async () => {
    await page.locator('[data-testid=live-status][data-state=live]').waitFor();
    for (const name of ['loadgen', 'shop.Frontend', 'greet.Greeter', 'audit', `topic:${TOPIC}`]) {
      await page.locator(`[data-testid=node][data-node="${name}"]`).waitFor();
    }
    await edgeDrawn(page, EDGE);
    await edgeDrawn(page, '[data-testid=edge][data-from="loadgen"][data-to="shop.Frontend"]');
    await edgeDrawn(page, `[data-testid=edge][data-from="shop.Frontend"][data-to="topic:${TOPIC}"]`);
    assert.equal(await page.getByTestId('topology-empty').isHidden(), true);
    await page.screenshot({ path: artifact('overview.png'), fullPage: true });
  });

  it("shows an edge's rate, error share and p99, and they change as calls go on", async () => {
    const edge = page.locator(EDGE);
    const read = async () => ({
      count: Number(await edge.getAttribute('data-count')),
      label: (await page.locator(EDGE.replace('=edge]', '=edge-label]')).textContent()) ?? '',
    });
    const first = await read();
    assert.ok(first.count > 0);
    assert.match(first.label, /^[\d.]+\/s · \d+\.\d % {0,1}p99 [\d.]+ m?s · \w+$/);
    // A later snapshot: more calls counted, the label redrawn from it.
    await until(
      'more calls on the edge',
      async () => Number(await edge.getAttribute('data-count')) > first.count,
    );
    const second = await read();
    assert.ok(second.count > first.count, `${second.count} > ${first.count}`);
    assert.match(second.label, /p99 [\d.]+ m?s/);
    // One call in ten fails at the greeter: the edge shows errors and is coloured for them.
    await until(
      'errors on the edge',
      async () =>
        Number(await edge.getAttribute('data-error-rate')) > 0 &&
        /\bbad\b/.test((await edge.getAttribute('class')) ?? ''),
    );
  });

  it('lists every instance with its zone, health and ejection state', async () => {
    const ids = [
      ...(system.instanceIds['greet.Greeter'] ?? []),
      ...(system.instanceIds['shop.Frontend'] ?? []),
    ];
    assert.equal(ids.length, 3);
    for (const id of ids) {
      const row = page.locator(`[data-testid=instance-row][data-instance-id="${id}"]`);
      await row.waitFor();
      assert.match((await row.getByTestId('instance-health').textContent()) ?? '', /\w+/);
      assert.equal(await row.getByTestId('instance-ejected').textContent(), 'no');
    }
    const greeterRows = page.locator('[data-testid=instance-row][data-service="greet.Greeter"]');
    assert.equal(await greeterRows.count(), 2);
    const zones = (await greeterRows.locator('td:nth-child(4)').allTextContents()).sort();
    assert.deepEqual(zones, ['zone-a', 'zone-b']);
    assert.match((await greeterRows.first().textContent()) ?? '', /native:\/\/127\.0\.0\.1:\d+/);

    // A caller reports one greeter ejected: its row and the service's node say so.
    const ejectedId = ids[0] as string;
    const report = await fetch(`${hubUrl}/api/v1/telemetry/instances/${ejectedId}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ejected: true, by: 'dashboard-test' }),
    });
    assert.equal(report.status, 200);
    const ejected = page
      .locator(`[data-testid=instance-row][data-instance-id="${ejectedId}"]`)
      .getByTestId('instance-ejected');
    await until('the ejected instance', async () => (await ejected.textContent()) === 'ejected');
    const node = page.locator('[data-testid=node][data-node="greet.Greeter"]');
    assert.match((await node.textContent()) ?? '', /1 ejected/);
    assert.match((await node.getAttribute('class')) ?? '', /\bdegraded\b/);
  });

  it('lists the topic with its publishes and consumer group', async () => {
    const row = page.locator(`[data-testid=topic-row][data-topic="${TOPIC}"][data-group="audit"]`);
    await row.waitFor();
    const published = page.locator(`[data-testid=topic-row][data-topic="${TOPIC}"] td`).nth(1);
    await until('messages published', async () => Number(await published.textContent()) > 0);
  });

  it('opens a trace across the services as a waterfall', async () => {
    // A whole call: from the load generator through the frontend to the greeter.
    const row = page
      .getByTestId('trace-row')
      .filter({ hasText: 'shop.Frontend/Greet' })
      .filter({ hasText: 'greet.Greeter' })
      .filter({ hasText: 'loadgen' })
      .first();
    await row.waitFor({ timeout: 20_000 });
    await row.getByTestId('trace-open').click();
    const spans = page.getByTestId('waterfall').getByTestId('span-row');
    await until('four spans or more', async () => (await spans.count()) >= 4);
    const depths = await spans.evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-depth'))));
    // loadgen client → frontend server → frontend client → greeter server, each under the last.
    assert.ok(Math.max(...depths) >= 3, `depths ${depths}`);
    assert.equal(depths[0], 0);
    const greeterSpan = spans
      .filter({ has: page.locator('.span-service', { hasText: 'greet.Greeter' }) })
      .first();
    await greeterSpan.click();
    assert.match(
      (await page.getByTestId('span-detail').textContent()) ?? '',
      /rpc\.service\s*greet\.Greeter/,
    );
    assert.match((await page.getByTestId('waterfall-title').textContent()) ?? '', /spans/);
    await page.getByTestId('waterfall').scrollIntoViewIfNeeded();
    await page.screenshot({ path: artifact('trace.png'), fullPage: true });
  });

  it("shows a service's contract", async () => {
    await page.getByTestId('contract-service').selectOption('greet.Greeter');
    const contract = page.getByTestId('contract-view');
    await until('the Greeter contract', async () =>
      /rpc SayHello/.test((await contract.textContent()) ?? ''),
    );
    // Clicking a service in the graph shows its contract too.
    await page.locator('[data-testid=node][data-node="shop.Frontend"]').click();
    await until('the Frontend contract', async () =>
      /rpc Greet\b/.test((await contract.textContent()) ?? ''),
    );
    assert.equal(await page.getByTestId('contract-service').inputValue(), 'shop.Frontend');
    await page.getByTestId('contract-view').scrollIntoViewIfNeeded();
    await page.screenshot({ path: artifact('contract.png'), fullPage: true });
    assert.deepEqual(pageErrors, []);
  });

  it('says disconnected when the hub goes away', async () => {
    await system.stopHub();
    await page.locator('[data-testid=live-status][data-state=disconnected]').waitFor({ timeout: 15_000 });
    assert.equal(await page.getByTestId('live-status').textContent(), 'disconnected');
    await page.screenshot({ path: artifact('disconnected.png') });
  });

  it('goes live again when a hub answers at the same address', async () => {
    restarted = new HubServer({ port: Number(new URL(hubUrl).port), broker: false });
    await restarted.listen();
    await page.locator('[data-testid=live-status][data-state=live]').waitFor({ timeout: 20_000 });
    // The services carry on (spans, heartbeats) and the page draws them from the new hub's snapshots.
    await page.locator(EDGE).waitFor({ timeout: 20_000 });
  });
});
