// The topology's geometry, without the DOM (the layout tests run it in Node): a layered layout
// left to right, routes for the arrows and places for their labels. It depends only on the
// nodes' names and the edges' ends and transports, never on rates, so a redraw every second
// moves nothing that did not change.
//
// Layers: longest path over the edges a depth-first search keeps (cycles cut). Edges spanning
// several layers pass through placeholder slots in the layers between, so they run between
// nodes rather than through them. Rows: barycenter sweeps order each layer, then nodes move
// towards their neighbours' height (straight lines where possible). Back edges (a cycle's
// closing edge) run below everything, each in a lane of its own. Labels go on their edge, at
// the first place along it that overlaps no node and no label placed before.

import {
  compare,
  compareEdges,
  edgeKey,
  pathOf,
  placeLabel,
  round,
  routeBack,
  routeForward,
  selfLoop,
} from './edge-routes.js';

export { compare } from './edge-routes.js';

export const NODE_H = 46;
/** Label text is 11px, about 5.9px a character (measured in Chromium); names 13px bold, 8.2px. */
const CHAR_W = 5.9;
const NAME_CHAR_W = 8.2;
export const LABEL_H = 28;
const NODE_MIN_W = 124;
const NODE_MAX_W = 184;
const ROW_GAP = 40;
const SLOT_GAP = 18;
const PAD = 16;
const MIN_HEIGHT = 180;

/** A label's size: the longest its two lines get ("123.4/s · 100.0 %", "p99 999 ms · native"). */
export function labelSize(edge) {
  const chars = Math.max(17, 13 + String(edge.transport ?? '?').length);
  return { w: Math.ceil(chars * CHAR_W) + 6, h: LABEL_H };
}

/** A node's text: its name on one line (shortened), or a long topic name on two; and its width. */
export function nodeText(node) {
  const label = node.label ?? node.name;
  const fits = (text) => text.length * NAME_CHAR_W + 20 <= NODE_MAX_W;
  let lines = [label];
  if (!fits(label) && node.kind === 'topic') {
    // Split at the dot that balances the two lines best.
    let best;
    for (let i = label.indexOf('.'); i > 0; i = label.indexOf('.', i + 1)) {
      const parts = [label.slice(0, i + 1), label.slice(i + 1)];
      const longest = Math.max(...parts.map((p) => p.length));
      if (best === undefined || longest < best.longest) best = { parts, longest };
    }
    if (best) lines = best.parts;
  }
  const maxChars = Math.floor((NODE_MAX_W - 20) / NAME_CHAR_W);
  lines = lines.map((l) => (l.length <= maxChars ? l : `${l.slice(0, maxChars - 1)}…`));
  const widest = Math.max(...lines.map((l) => l.length));
  return { lines, width: Math.min(NODE_MAX_W, Math.max(NODE_MIN_W, Math.ceil(widest * NAME_CHAR_W + 20))) };
}

/**
 * The picture: `coordinates` (name → { x, y, layer, width, height }), `routes` (one per edge,
 * in the graph's edge order: { edge, d, back, label: { x, y, w, h } }), and its `width` and `height`.
 */
export function layout(graph) {
  const nodeByName = new Map(graph.nodes.map((n) => [n.name, n]));
  const names = graph.nodes.map((n) => n.name);
  const edges = graph.edges.filter((e) => nodeByName.has(e.from) && nodeByName.has(e.to));
  const forward = new Set(forwardEdges(names, edges));
  const layer = longestPath(names, [...forward]);

  // Slots: every node, and a placeholder in each layer a forward edge skips over.
  const slots = new Map(names.map((n) => [n, { name: n, layer: layer.get(n), height: NODE_H, real: true }]));
  const chains = new Map();
  const links = [];
  for (const e of [...forward].sort(compareEdges)) {
    const chain = [e.from];
    for (let l = layer.get(e.from) + 1; l < layer.get(e.to); l++) {
      const name = `\u0000${edgeKey(e)}\u0000${l}`;
      slots.set(name, { name, layer: l, height: 0, real: false });
      chain.push(name);
    }
    chain.push(e.to);
    chains.set(e, chain);
    for (let i = 1; i < chain.length; i++) links.push([chain[i - 1], chain[i]]);
  }
  const back = edges.filter((e) => !forward.has(e) && e.from !== e.to);
  const columns = orderColumns(slots, links, back);
  const columnWidths = columns.map((c) =>
    Math.max(NODE_MIN_W, ...c.filter((n) => slots.get(n).real).map((n) => nodeText(nodeByName.get(n)).width)),
  );
  const widestLabel = Math.max(0, ...edges.map((e) => labelSize(e).w));
  // Layers are spaced just wider than the widest label; a little more when there are few.
  const gap = widestLabel + (columns.length <= 4 ? 40 : 10);
  const columnX = [0];
  for (let l = 1; l < columns.length; l++) columnX.push(columnX[l - 1] + columnWidths[l - 1] + gap);
  const y = assignRows(columns, slots, links);

  const box = (name) => {
    const l = slots.get(name).layer;
    return { x: columnX[l], y: y.get(name), w: columnWidths[l], h: slots.get(name).height, layer: l };
  };
  const routes = new Map();
  routeForward(chains, box, routes);
  const lanesTop = Math.max(...names.map((n) => y.get(n) + NODE_H)) + 26;
  routeBack(back, box, columns, lanesTop, routes);
  for (const e of edges.filter((e) => e.from === e.to)) routes.set(e, selfLoop(box(e.from)));

  const nodeBoxes = names.map((n) => box(n));
  const placed = [];
  const order = [...routes.keys()].sort(
    (a, b) => Number(routes.get(a).back) - Number(routes.get(b).back) || compareEdges(a, b),
  );
  for (const e of order) {
    const label = placeLabel(routes.get(e).candidates, labelSize(e), nodeBoxes, placed);
    routes.get(e).label = label;
    placed.push(label);
  }

  // Everything shifted so the drawing starts at PAD, and centred in a minimum height.
  const extent = [...nodeBoxes, ...placed, ...[...routes.values()].map((r) => r.extent)];
  const minX = Math.min(...extent.map((b) => b.x));
  const minY = Math.min(...extent.map((b) => b.y));
  const maxX = Math.max(...extent.map((b) => b.x + b.w));
  const maxY = Math.max(...extent.map((b) => b.y + b.h));
  const width = Math.max(320, Math.ceil(maxX - minX + 2 * PAD));
  const height = Math.max(MIN_HEIGHT, Math.ceil(maxY - minY + 2 * PAD));
  const dx = PAD - minX;
  const dy = PAD - minY + (height - (maxY - minY + 2 * PAD)) / 2;
  const coordinates = new Map();
  for (const name of names) {
    const b = box(name);
    coordinates.set(name, {
      x: round(b.x + dx),
      y: round(b.y + dy),
      layer: b.layer,
      width: b.w,
      height: NODE_H,
    });
  }
  const shifted = edges.map((edge) => {
    const r = routes.get(edge);
    const l = r.label;
    return {
      edge,
      back: r.back,
      d: pathOf(r.segments, dx, dy),
      label: { x: round(l.x + dx), y: round(l.y + dy), w: l.w, h: l.h },
    };
  });
  return { coordinates, routes: shifted, width, height };
}

/** The edges that keep the graph acyclic: a depth-first search in name order drops back edges. */
function forwardEdges(names, edges) {
  const out = new Map(names.map((n) => [n, []]));
  for (const e of edges) out.get(e.from)?.push(e);
  for (const list of out.values()) list.sort(compareEdges);
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

/** Layer = the longest chain of forward edges leading to a node (0 for nodes nobody calls). */
function longestPath(names, forward) {
  const layer = new Map(names.map((n) => [n, 0]));
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
  return layer;
}

/** Each layer's slots top to bottom: by name, then barycenter sweeps; back edges' ends lean down. */
function orderColumns(slots, links, back) {
  const columns = [];
  const layers = Math.max(0, ...[...slots.values()].map((s) => s.layer + 1));
  for (let l = 0; l < layers; l++) columns.push([]);
  for (const slot of [...slots.values()].sort((a, b) => compare(a.name, b.name)))
    columns[slot.layer].push(slot.name);
  const withBack = new Set(back.flatMap((e) => [e.from, e.to]));
  const index = new Map();
  const place = (column) => {
    for (const [i, n] of column.entries()) index.set(n, i);
  };
  for (const column of columns) place(column);
  for (const direction of ['down', 'up', 'down', 'up']) {
    const neighbours = new Map();
    for (const [a, b] of links) {
      const [self, other] = direction === 'down' ? [b, a] : [a, b];
      if (!neighbours.has(self)) neighbours.set(self, []);
      neighbours.get(self).push(index.get(other));
    }
    const sequence = direction === 'down' ? columns : [...columns].reverse();
    for (const column of sequence) {
      const weight = new Map(
        column.map((n, i) => {
          const near = [...(neighbours.get(n) ?? [])];
          // A node with an arc below is better off low in its layer: its arc crosses less.
          if (withBack.has(n)) near.push(column.length);
          return [n, near.length === 0 ? i : near.reduce((s, p) => s + p, 0) / near.length];
        }),
      );
      column.sort((a, b) => weight.get(a) - weight.get(b) || index.get(a) - index.get(b));
      place(column);
    }
  }
  return columns;
}

/** Heights: slots move towards the mean height of their linked slots, keeping their order and spacing. */
function assignRows(columns, slots, links) {
  const y = new Map();
  const spacing = (a, b) => (slots.get(a).real && slots.get(b).real ? ROW_GAP : SLOT_GAP);
  const centre = (n) => y.get(n) + slots.get(n).height / 2;
  for (const column of columns) {
    let top = 0;
    column.forEach((n, i) => {
      if (i > 0) top += slots.get(column[i - 1]).height + spacing(column[i - 1], n);
      y.set(n, top);
    });
  }
  const before = new Map();
  const after = new Map();
  for (const [a, b] of links) {
    if (!after.has(a)) after.set(a, []);
    if (!before.has(b)) before.set(b, []);
    after.get(a).push(b);
    before.get(b).push(a);
  }
  for (let sweep = 0; sweep < 6; sweep++) {
    const down = sweep % 2 === 0;
    const sequence = down ? columns : [...columns].reverse();
    for (const column of sequence) {
      const want = column.map((n) => {
        const near = (down ? before : after).get(n) ?? [];
        const mean = near.length === 0 ? centre(n) : near.reduce((s, m) => s + centre(m), 0) / near.length;
        return mean - slots.get(n).height / 2;
      });
      // Packed downwards and packed upwards both keep the spacing; so does their mean.
      const low = [...want];
      for (let i = 1; i < column.length; i++) {
        low[i] = Math.max(
          want[i],
          low[i - 1] + slots.get(column[i - 1]).height + spacing(column[i - 1], column[i]),
        );
      }
      const high = [...want];
      for (let i = column.length - 2; i >= 0; i--) {
        high[i] = Math.min(
          want[i],
          high[i + 1] - slots.get(column[i]).height - spacing(column[i], column[i + 1]),
        );
      }
      for (const [i, n] of column.entries()) y.set(n, (low[i] + high[i]) / 2);
    }
  }
  return y;
}
