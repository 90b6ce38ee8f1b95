/**
 * The page's pure parts, run in Node: the graph's layered layout (deterministic, cycles
 * tolerated, labels clear of nodes and of each other) and the waterfall's span order. The same
 * files the browser loads.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ASSETS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/hub/dashboard/assets');

interface Edge {
  from: string;
  to: string;
  transport?: string;
  rate?: number;
  errorRate?: number;
}
interface Snapshot {
  services?: { name: string; instances: { id: string; health?: string; ejected?: boolean }[] }[];
  topics?: { name: string }[];
  edges?: Edge[];
}
interface Graph {
  nodes: { name: string; kind: string }[];
  edges: Edge[];
}
interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}
interface Layout {
  coordinates: Map<string, { x: number; y: number; layer: number; width: number; height: number }>;
  routes: { edge: Edge; d: string; back: boolean; label: Box }[];
  width: number;
  height: number;
}
interface GraphModule {
  graphOf(snapshot: Snapshot): Graph;
  layout(graph: Graph): Layout;
}
interface Span {
  spanId: string;
  parentSpanId?: string;
  startMs: number;
}
interface TracesModule {
  orderByTree(spans: Span[]): { span: Span; depth: number }[];
}

// Plain ES modules without type declarations: imported by URL, typed here.
const load = async <T>(file: string): Promise<T> =>
  (await import(pathToFileURL(path.join(ASSETS, file)).href)) as T;
const { graphOf, layout } = await load<GraphModule>('graph.js');
const { orderByTree } = await load<TracesModule>('traces.js');

const service = (name: string) => ({ name, instances: [{ id: `${name}-1` }] });

/** The boxes' shared area; 0 when they only touch. */
const overlap = (a: Box, b: Box) =>
  Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)) *
  Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));

const key = (r: Layout['routes'][number]) =>
  `${r.edge.from}>${r.edge.to}>${r.edge.transport}|${r.d}|${JSON.stringify(r.label)}`;

/** The shop demo as its dashboard sees it: REST, gRPC and native calls, and the payment cycle through topics. */
const shop: Snapshot = {
  services: ['gateway', 'inventory', 'orders']
    .map(service)
    .concat(['notifications', 'payments', 'traffic'].map((name) => ({ name, instances: [] }))),
  topics: [
    'shop.orders.placed',
    'shop.payments.succeeded',
    'shop.payments.failed',
    'shop.v1.Inventory.commands',
  ].map((name) => ({ name })),
  edges: [
    ['traffic', 'gateway', 'http'],
    ['gateway', 'orders', 'grpc'],
    ['gateway', 'inventory', 'native'],
    ['orders', 'inventory', 'native'],
    ['orders', 'topic:shop.orders.placed', 'queue'],
    ['orders', 'topic:shop.v1.Inventory.commands', 'queue'],
    ['topic:shop.v1.Inventory.commands', 'inventory', 'queue'],
    ['topic:shop.orders.placed', 'payments', 'queue'],
    ['topic:shop.orders.placed', 'notifications', 'queue'],
    ['payments', 'topic:shop.payments.succeeded', 'queue'],
    ['payments', 'topic:shop.payments.failed', 'queue'],
    ['topic:shop.payments.succeeded', 'orders', 'queue'],
    ['topic:shop.payments.succeeded', 'notifications', 'queue'],
    ['topic:shop.payments.failed', 'orders', 'queue'],
    ['topic:shop.payments.failed', 'notifications', 'queue'],
  ].map(([from = '', to = '', transport]) => ({ from, to, transport, rate: 3, errorRate: 0.05 })),
};

describe('topology layout', () => {
  const snapshot: Snapshot = {
    services: [service('shop.Frontend'), service('greet.Greeter'), { name: 'loadgen', instances: [] }],
    topics: [{ name: 'greetings' }],
    edges: [
      { from: 'loadgen', to: 'shop.Frontend' },
      { from: 'shop.Frontend', to: 'greet.Greeter' },
      { from: 'shop.Frontend', to: 'topic:greetings' },
      { from: 'topic:greetings', to: 'audit' },
    ],
  };

  it('puts callers left of callees, one layer per hop, and adds nodes only edges name', () => {
    const graph = graphOf(snapshot);
    assert.deepEqual(
      graph.nodes.map((n) => `${n.name}:${n.kind}`),
      [
        'audit:external',
        'greet.Greeter:service',
        'loadgen:service',
        'shop.Frontend:service',
        'topic:greetings:topic',
      ],
    );
    const { coordinates } = layout(graph);
    const layer = (name: string) => coordinates.get(name)?.layer;
    assert.deepEqual(
      ['loadgen', 'shop.Frontend', 'greet.Greeter', 'topic:greetings', 'audit'].map(layer),
      [0, 1, 2, 2, 3],
    );
    const x = (name: string) => coordinates.get(name)?.x ?? Number.NaN;
    assert.ok(x('loadgen') < x('shop.Frontend') && x('shop.Frontend') < x('greet.Greeter'));
  });

  it('draws the same picture whatever order the snapshot lists things in', () => {
    const reversed: Snapshot = {
      services: [...(snapshot.services ?? [])].reverse(),
      topics: snapshot.topics,
      edges: [...(snapshot.edges ?? [])].reverse(),
    };
    const a = layout(graphOf(snapshot)).coordinates;
    const b = layout(graphOf(reversed)).coordinates;
    assert.deepEqual([...b].sort(), [...a].sort());
  });

  it("lays out the shop's cycle within a bounded width, labels clear of nodes and of each other", () => {
    const { coordinates, routes, width, height } = layout(graphOf(shop));
    // Seven layers: traffic, gateway, orders, the placed and commands topics, payments and
    // inventory, the payment topics, notifications.
    const layers = new Set([...coordinates.values()].map((c) => c.layer));
    assert.equal(layers.size, 7);
    assert.ok(width <= 1800, `${width} px wide`);
    assert.ok(height <= 420, `${height} px high`);
    const nodes = [...coordinates].map(([name, c]) => ({ name, x: c.x, y: c.y, w: c.width, h: c.height }));
    const labels = routes.map((r) => ({ name: `${r.edge.from} → ${r.edge.to}`, ...r.label }));
    assert.equal(labels.length, shop.edges?.length);
    for (const [i, a] of labels.entries()) {
      // Room for the longest text a label shows.
      assert.ok(a.w >= 'p99 999 ms · native'.length * 5.5 && a.h >= 26, `${a.name}: ${a.w}×${a.h}`);
      assert.ok(a.x >= 0 && a.y >= 0 && a.x + a.w <= width && a.y + a.h <= height, `${a.name} inside`);
      for (const n of nodes) assert.equal(overlap(a, n), 0, `${a.name} overlaps node ${n.name}`);
      for (const b of labels.slice(i + 1)) assert.equal(overlap(a, b), 0, `${a.name} overlaps ${b.name}`);
    }
    // The edges closing the cycle arc below every node, and end on their target.
    const lowest = Math.max(...nodes.map((n) => n.y + n.h));
    const back = routes.filter((r) => r.back);
    assert.deepEqual(back.map((r) => `${r.edge.from} → ${r.edge.to}`).sort(), [
      'topic:shop.payments.failed → orders',
      'topic:shop.payments.succeeded → orders',
    ]);
    for (const r of routes) {
      const ys = [...r.d.matchAll(/-?[\d.]+,(-?[\d.]+)/g)].map((m) => Number(m[1]));
      if (r.back) assert.ok(Math.max(...ys) > lowest, `${r.edge.from} → ${r.edge.to} runs below`);
      const [, x = Number.NaN, y = Number.NaN] = (r.d.match(/(-?[\d.]+),(-?[\d.]+)$/) ?? []).map(Number);
      const to = coordinates.get(r.edge.to);
      assert.ok(to && x >= to.x - 0.5 && x <= to.x + to.width + 0.5, `${r.edge.to}: ends at x ${x}`);
      assert.ok(to && y >= to.y - 0.5 && y <= to.y + to.height + 0.5, `${r.edge.to}: ends at y ${y}`);
    }
    // Stable: the same picture again, whatever order the snapshot lists things in.
    const again = layout(graphOf({ ...shop, edges: [...(shop.edges ?? [])].reverse() }));
    assert.deepEqual(again.routes.map(key).sort(), routes.map(key).sort());
    assert.deepEqual([...again.coordinates].sort(), [...coordinates].sort());
  });

  it('spaces layers closer when there are many', () => {
    const few = layout(graphOf(snapshot)).coordinates;
    const many = layout(graphOf(shop)).coordinates;
    const step = (c: Layout['coordinates'], a: string, b: string) =>
      (c.get(b)?.x ?? 0) - (c.get(a)?.x ?? 0) - (c.get(a)?.width ?? 0);
    assert.ok(step(many, 'traffic', 'gateway') < step(few, 'loadgen', 'shop.Frontend'));
  });

  it('lays out cycles and self calls without looping, every node placed once', () => {
    const cyclic: Snapshot = {
      services: ['a', 'b', 'c'].map(service),
      edges: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'c', to: 'a' },
        { from: 'b', to: 'b' },
      ],
    };
    const { coordinates } = layout(graphOf(cyclic));
    assert.deepEqual(
      ['a', 'b', 'c'].map((n) => coordinates.get(n)?.layer),
      [0, 1, 2],
    );
    const places = new Set([...coordinates.values()].map((c) => `${c.x},${c.y}`));
    assert.equal(places.size, 3);
  });
});

describe('waterfall order', () => {
  it('lists parents before children, siblings by start, orphans as roots', () => {
    const spans: Span[] = [
      { spanId: 'c2', parentSpanId: 'root', startMs: 30 },
      { spanId: 'g1', parentSpanId: 'c1', startMs: 12 },
      { spanId: 'root', startMs: 0 },
      { spanId: 'c1', parentSpanId: 'root', startMs: 10 },
      { spanId: 'lost', parentSpanId: 'never-arrived', startMs: 5 },
    ];
    assert.deepEqual(
      orderByTree(spans).map(({ span, depth }) => `${span.spanId}@${depth}`),
      ['root@0', 'c1@1', 'g1@2', 'c2@1', 'lost@0'],
    );
  });
});
