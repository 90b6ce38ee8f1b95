/**
 * The page's pure parts, run in Node: the graph's layered layout (deterministic, cycles
 * tolerated) and the waterfall's span order. The same files the browser loads.
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
interface GraphModule {
  graphOf(snapshot: Snapshot): Graph;
  layout(graph: Graph): { coordinates: Map<string, { x: number; y: number; layer: number }> };
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
