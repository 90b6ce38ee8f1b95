// The topology graph: services and topics as boxes, calls between them as labelled arrows.
// The layout is layered and deterministic (same snapshot, same picture), so redrawing it every
// second never makes nodes jump: layer = longest path from a caller, order within a layer by
// name, then two barycenter sweeps to untangle edges.

import { formatMs, formatPercent, formatRate, replaceChildren, severity, svg } from './dom.js';

const NODE_W = 176;
const NODE_H = 46;
const COL_GAP = 150;
const ROW_GAP = 56;
const PAD = 24;
const SEVERITIES = ['ok', 'warn', 'bad', 'idle'];

/** Nodes and edges of a snapshot: services, `topic:` nodes, and callers nobody registered. */
export function graphOf(snapshot) {
  const nodes = new Map();
  for (const service of snapshot.services ?? []) {
    const instances = service.instances ?? [];
    nodes.set(service.name, {
      name: service.name,
      kind: 'service',
      instances: instances.length,
      unhealthy: instances.filter((i) => !isHealthy(i.health)).length,
      ejected: instances.filter((i) => i.ejected).length,
    });
  }
  for (const topic of snapshot.topics ?? []) {
    const name = `topic:${topic.name}`;
    nodes.set(name, { name, kind: 'topic', label: topic.name });
  }
  const edges = (snapshot.edges ?? []).filter((e) => e.from && e.to);
  for (const edge of edges) {
    for (const end of [edge.from, edge.to]) {
      if (nodes.has(end)) continue;
      const topic = end.startsWith('topic:');
      nodes.set(end, { name: end, kind: topic ? 'topic' : 'external', label: topic ? end.slice(6) : end });
    }
  }
  return { nodes: [...nodes.values()].sort((a, b) => compare(a.name, b.name)), edges };
}

/** Health as the registry and health checks report it: SERVING, passing, UP, healthy. */
export function isHealthy(health) {
  if (health === undefined || health === null) return true;
  return /^(serving|passing|up|healthy|ok|unknown)$/i.test(String(health));
}

/** Positions for every node: { name → { x, y, layer } }, plus the drawing's size. */
export function layout(graph) {
  const names = graph.nodes.map((n) => n.name);
  const forward = forwardEdges(names, graph.edges);
  const layer = new Map(names.map((n) => [n, 0]));
  // Longest path over the acyclic edges, relaxed in name order until stable (|V| rounds at most).
  for (let round = 0; round < names.length; round++) {
    let changed = false;
    for (const { from, to } of forward) {
      if (layer.get(to) < layer.get(from) + 1) {
        layer.set(to, layer.get(from) + 1);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const columns = [];
  for (const name of names) {
    const l = layer.get(name);
    columns[l] ??= [];
    columns[l].push(name);
  }
  const position = new Map();
  const place = () => {
    for (const [l, column] of columns.entries())
      for (const [i, n] of column.entries()) position.set(n, { l, i });
  };
  place();
  for (const direction of ['down', 'up', 'down']) {
    const neighbours = (name) =>
      forward
        .filter((e) => (direction === 'down' ? e.to === name : e.from === name))
        .map((e) => position.get(direction === 'down' ? e.from : e.to).i);
    for (const column of columns) {
      const weight = new Map(column.map((n, i) => [n, barycenter(neighbours(n), i)]));
      column.sort((a, b) => weight.get(a) - weight.get(b) || compare(a, b));
    }
    place();
  }
  const tallest = Math.max(1, ...columns.map((c) => c.length));
  const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * ROW_GAP + 40;
  const width = PAD * 2 + columns.length * NODE_W + Math.max(0, columns.length - 1) * COL_GAP;
  const coordinates = new Map();
  columns.forEach((column, l) => {
    const columnHeight = column.length * NODE_H + (column.length - 1) * ROW_GAP;
    const top = (height - 40 - columnHeight) / 2;
    column.forEach((name, i) => {
      coordinates.set(name, { x: PAD + l * (NODE_W + COL_GAP), y: top + i * (NODE_H + ROW_GAP), layer: l });
    });
  });
  return { coordinates, width: Math.max(width, 320), height };
}

/** Draws the snapshot into `root` (an <svg>); `onSelect(name)` when a service is clicked. */
export function renderGraph(root, snapshot, onSelect) {
  const graph = graphOf(snapshot);
  const { coordinates, width, height } = layout(graph);
  root.setAttribute('viewBox', `0 0 ${width} ${height}`);
  root.setAttribute('width', String(width));
  root.setAttribute('height', String(height));
  const parallel = new Map();
  for (const e of graph.edges) {
    const key = `${e.from}\u0000${e.to}`;
    parallel.set(key, (parallel.get(key) ?? 0) + 1);
  }
  const seen = new Map();
  const edges = graph.edges.map((edge) => {
    const key = `${edge.from}\u0000${edge.to}`;
    const index = seen.get(key) ?? 0;
    seen.set(key, index + 1);
    const offset = (index - ((parallel.get(key) ?? 1) - 1) / 2) * 18;
    return drawEdge(edge, coordinates.get(edge.from), coordinates.get(edge.to), offset);
  });
  const nodes = graph.nodes.map((node) => drawNode(node, coordinates.get(node.name), onSelect));
  // Labels in a layer of their own above every line, so no arrow crosses a number.
  replaceChildren(
    root,
    svg('title', {}, 'Topology: services, topics and the calls between them'),
    defs(),
    svg(
      'g',
      { class: 'edges' },
      edges.map((e) => e.line),
    ),
    svg('g', { class: 'nodes' }, nodes),
    svg(
      'g',
      { class: 'edge-labels' },
      edges.map((e) => e.label),
    ),
  );
  return graph;
}

function defs() {
  return svg(
    'defs',
    {},
    SEVERITIES.map((s) =>
      svg(
        'marker',
        {
          id: `arrow-${s}`,
          viewBox: '0 0 10 10',
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: 'auto-start-reverse',
        },
        svg('path', { d: 'M0,0 L10,5 L0,10 z', class: `arrow ${s}` }),
      ),
    ),
  );
}

function drawNode(node, at, onSelect) {
  const label = node.label ?? node.name;
  const detail =
    node.kind === 'service'
      ? (node.instances === 0
          ? 'no instances'
          : `${node.instances} instance${node.instances === 1 ? '' : 's'}`) +
        (node.unhealthy ? ` · ${node.unhealthy} unhealthy` : '') +
        (node.ejected ? ` · ${node.ejected} ejected` : '')
      : node.kind === 'topic'
        ? 'topic'
        : 'not registered';
  const state = node.unhealthy || node.ejected ? 'degraded' : node.instances === 0 ? 'empty' : 'fine';
  const clickable = node.kind === 'service';
  return svg(
    'g',
    {
      class: `node ${node.kind} ${state}`,
      transform: `translate(${at.x},${at.y})`,
      'data-testid': 'node',
      'data-node': node.name,
      'data-kind': node.kind,
      role: clickable ? 'button' : 'img',
      tabindex: clickable ? 0 : undefined,
      'aria-label': `${node.kind} ${label}: ${detail}`,
      onclick: clickable ? () => onSelect?.(node.name) : undefined,
      onkeydown: clickable
        ? (event) => {
            if (event.key === 'Enter' || event.key === ' ') onSelect?.(node.name);
          }
        : undefined,
    },
    svg('title', {}, node.name),
    svg('rect', { width: NODE_W, height: NODE_H, rx: node.kind === 'topic' ? 22 : 6 }),
    svg('text', { x: NODE_W / 2, y: 19, class: 'node-name' }, shorten(label, 24)),
    svg('text', { x: NODE_W / 2, y: 35, class: 'node-detail' }, detail),
  );
}

function drawEdge(edge, from, to, offset) {
  const level = severity(edge.errorRate, edge.rate);
  let d;
  let labelX;
  let labelY;
  if (to.layer > from.layer) {
    const x1 = from.x + NODE_W;
    const y1 = from.y + NODE_H / 2 + offset;
    const x2 = to.x;
    const y2 = to.y + NODE_H / 2 + offset;
    const bend = (x2 - x1) / 2;
    d = `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
    // A little past the middle, where edges leaving one node have drawn apart.
    const t = 0.62;
    const along = 3 * t * t - 2 * t * t * t;
    labelX = x1 + (x2 - x1) * t;
    labelY = y1 + (y2 - y1) * along - 8;
  } else {
    // Back edges, self calls and calls within one layer: an arc below the boxes.
    const x1 = from.x + NODE_W / 2 + offset;
    const y1 = from.y + NODE_H;
    const x2 = to.x + NODE_W / 2 + offset;
    const y2 = to.y + NODE_H;
    const drop = 36 + Math.abs(x2 - x1) / 6 + (edge.from === edge.to ? 10 : 0);
    const spread = edge.from === edge.to ? 40 : 0;
    d = `M${x1},${y1} C${x1 - spread},${y1 + drop} ${x2 + spread},${y2 + drop} ${x2},${y2}`;
    labelX = (x1 + x2) / 2;
    labelY = Math.max(y1, y2) + drop * 0.75 + 4;
  }
  const rate = `${formatRate(edge.rate)}/s · ${formatPercent(edge.errorRate)}`;
  const latency = `p99 ${formatMs(edge.p99Ms)} · ${edge.transport ?? '?'}`;
  const title = `${edge.from} → ${edge.to} over ${edge.transport}: ${edge.count} calls in the window`;
  const ends = { 'data-from': edge.from, 'data-to': edge.to, 'data-transport': edge.transport };
  const line = svg(
    'g',
    {
      class: `edge ${level}`,
      'data-testid': 'edge',
      ...ends,
      'data-rate': edge.rate,
      'data-error-rate': edge.errorRate,
      'data-p99-ms': edge.p99Ms,
      'data-count': edge.count,
    },
    svg('title', {}, title),
    svg('path', { d, class: 'edge-line', 'marker-end': `url(#arrow-${level})` }),
  );
  const label = svg(
    'text',
    { x: labelX, y: labelY, class: `edge-label ${level}`, 'data-testid': 'edge-label', ...ends },
    svg('tspan', { x: labelX, dy: 0 }, rate),
    svg('tspan', { x: labelX, dy: 13 }, latency),
  );
  return { line, label };
}

/** The edges of a graph that keep it acyclic: a depth-first search in name order drops back edges. */
function forwardEdges(names, edges) {
  const out = new Map(names.map((n) => [n, []]));
  for (const e of edges) out.get(e.from)?.push(e);
  for (const list of out.values()) list.sort((a, b) => compare(a.to, b.to));
  const state = new Map();
  const kept = [];
  const visit = (name) => {
    state.set(name, 'open');
    for (const e of out.get(name) ?? []) {
      const s = state.get(e.to);
      if (s === 'open') continue;
      kept.push(e);
      if (s === undefined) visit(e.to);
    }
    state.set(name, 'done');
  };
  // Callers nobody calls first, so a cycle loses the edge that points back towards them.
  const called = new Set(edges.map((e) => e.to));
  const roots = [...names.filter((n) => !called.has(n)), ...names.filter((n) => called.has(n))];
  for (const name of roots) if (!state.has(name)) visit(name);
  return kept.filter((e) => e.from !== e.to);
}

function barycenter(positions, fallback) {
  if (positions.length === 0) return fallback;
  return positions.reduce((sum, p) => sum + p, 0) / positions.length;
}

function shorten(text, max) {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function compare(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}
