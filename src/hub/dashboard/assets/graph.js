// The topology graph: services and topics as boxes, calls between them as labelled arrows.
// Where everything goes is layout.js's business (deterministic: same snapshot, same picture);
// this draws it.

import { formatMs, formatPercent, formatRate, replaceChildren, severity, svg } from './dom.js';
import { compare, layout, nodeText } from './layout.js';

export { layout } from './layout.js';

/** The smallest scale the graph is shrunk to when the panel is narrow; below it, it scrolls. */
const MIN_SCALE = 0.7;
/** Detail text is 11px, about 5.6px a character. */
const DETAIL_CHAR_W = 5.6;
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

/** Draws the snapshot into `root` (an <svg>); `onSelect(name)` when a service is clicked. */
export function renderGraph(root, snapshot, onSelect) {
  const graph = graphOf(snapshot);
  const { coordinates, routes, width, height } = layout(graph);
  // Scales down to the panel's width (never up), and no further than legibility allows: a
  // narrower panel scrolls instead.
  root.setAttribute('viewBox', `0 0 ${width} ${height}`);
  root.setAttribute('preserveAspectRatio', 'xMidYMin meet');
  root.setAttribute('width', String(width));
  root.setAttribute('height', String(height));
  root.style.minWidth = `${Math.min(width, Math.round(width * MIN_SCALE))}px`;
  const edges = routes.map((route) => drawEdge(route));
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
  const { lines } = nodeText(node);
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
    svg('rect', { width: at.width, height: at.height, rx: node.kind === 'topic' ? 22 : 6 }),
    // A long topic name takes two lines instead of its detail (its shape says it is a topic).
    lines.length === 1
      ? [
          svg('text', { x: at.width / 2, y: 19, class: 'node-name' }, lines[0]),
          svg(
            'text',
            { x: at.width / 2, y: 35, class: 'node-detail', ...squeezed(detail, at.width - 14) },
            detail,
          ),
        ]
      : svg(
          'text',
          { x: at.width / 2, y: 19, class: 'node-name' },
          lines.map((line, i) => svg('tspan', { x: at.width / 2, dy: i === 0 ? 0 : 15 }, line)),
        ),
  );
}

function drawEdge({ edge, d, label: box }) {
  const level = severity(edge.errorRate, edge.rate);
  const labelX = box.x + box.w / 2;
  const labelY = box.y + 11;
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

/**
 * Squeezes a detail line wider than its node (several counts at once) into it, rather than
 * widening the node: a node's width depends on its name alone, so states never move the layout.
 */
function squeezed(text, room) {
  return text.length * DETAIL_CHAR_W > room ? { textLength: room, lengthAdjust: 'spacingAndGlyphs' } : {};
}
