// The arrows of the topology: routes through the layout's slots and lanes, as SVG path data,
// and a place for each label on its own edge that overlaps no node and no other label.

const LANE_GAP = 34;
const PORT_GAP = 10;
const CORNER = 12;
const LABEL_STEP = 32;

/**
 * Forward edges leave their node's right side and enter the left side, at ports spread over
 * the side in the order of the other end's height, and pass through their slots.
 */
export function routeForward(chains, box, routes) {
  const outPorts = new Map();
  const inPorts = new Map();
  for (const [e, chain] of chains) {
    (outPorts.get(e.from) ?? outPorts.set(e.from, []).get(e.from)).push({ e, towards: box(chain[1]) });
    (inPorts.get(e.to) ?? inPorts.set(e.to, []).get(e.to)).push({ e, towards: box(chain.at(-2)) });
  }
  const portY = (ports, name) => {
    const at = new Map();
    const b = box(name);
    const sorted = [...ports].sort((p, q) => p.towards.y - q.towards.y || compareEdges(p.e, q.e));
    const step = Math.min(PORT_GAP, (b.h - 16) / Math.max(1, sorted.length - 1));
    for (const [i, p] of sorted.entries()) at.set(p.e, b.y + b.h / 2 + (i - (sorted.length - 1) / 2) * step);
    return at;
  };
  const starts = new Map();
  const ends = new Map();
  for (const [name, ports] of outPorts) for (const [e, v] of portY(ports, name)) starts.set(e, v);
  for (const [name, ports] of inPorts) for (const [e, v] of portY(ports, name)) ends.set(e, v);
  for (const [e, chain] of chains) {
    const points = [];
    const first = box(e.from);
    points.push({ x: first.x + first.w, y: starts.get(e) });
    for (const slot of chain.slice(1, -1)) {
      const b = box(slot);
      points.push({ x: b.x, y: b.y }, { x: b.x + b.w, y: b.y });
    }
    const last = box(e.to);
    points.push({ x: last.x, y: ends.get(e) });
    const segments = [{ to: points[0] }];
    const candidates = [];
    // Odd steps cross a gap between layers (a curve unless level); even ones run through a slot.
    for (let i = 1; i < points.length; i++) {
      const a = points[i - 1];
      const b = points[i];
      if (i % 2 === 0 || a.y === b.y) {
        segments.push({ to: b });
        if (i % 2 === 1)
          for (const t of [0.5, 0.35, 0.65]) candidates.push({ x: a.x + (b.x - a.x) * t, y: a.y });
        continue;
      }
      const c1 = { x: (a.x + b.x) / 2, y: a.y };
      const c2 = { x: (a.x + b.x) / 2, y: b.y };
      segments.push({ c1, c2, to: b });
      for (const t of [0.5, 0.38, 0.62, 0.26, 0.74]) candidates.push(cubicAt(a, c1, c2, b, t));
    }
    routes.set(e, { back: false, segments, candidates, extent: boundsOf(points) });
  }
}

/**
 * Back edges run in lanes below every node: down from the source (its bottom when nothing is
 * below it in its layer, else its left side), along the lane, up into the target (its bottom,
 * else its right side). Lanes are reused where their runs do not overlap; shorter runs lie higher.
 */
export function routeBack(back, box, columns, lanesTop, routes) {
  const lowest = new Set(columns.map((c) => c.filter((n) => !n.startsWith('\u0000')).at(-1)));
  const sorted = [...back].sort((a, b) => {
    const span = (e) => box(e.from).layer - box(e.to).layer;
    return span(a) - span(b) || compareEdges(a, b);
  });
  // Ends on one node's bottom spread apart, so parallel arcs stay apart.
  const bottomEnds = new Map();
  for (const e of sorted) {
    for (const n of [e.from, e.to]) if (lowest.has(n)) bottomEnds.set(n, (bottomEnds.get(n) ?? 0) + 1);
  }
  const used = new Map();
  const nextBottom = (n) => {
    const i = used.get(n) ?? 0;
    used.set(n, i + 1);
    const b = box(n);
    return b.x + b.w / 2 + (i - ((bottomEnds.get(n) ?? 1) - 1) / 2) * 16;
  };
  const lanes = [];
  sorted.forEach((e, k) => {
    const from = box(e.from);
    const to = box(e.to);
    const sx = lowest.has(e.from) ? nextBottom(e.from) : from.x - 14 - (k % 3) * 6;
    const tx = lowest.has(e.to) ? nextBottom(e.to) : to.x + to.w + 14 + (k % 3) * 6;
    const [lo, hi] = [Math.min(sx, tx) - 20, Math.max(sx, tx) + 20];
    let lane = lanes.findIndex((runs) => runs.every(([a, b]) => hi < a || lo > b));
    if (lane < 0) lane = lanes.push([]) - 1;
    lanes[lane].push([lo, hi]);
    const laneY = lanesTop + lane * LANE_GAP;
    const points = [];
    if (lowest.has(e.from)) points.push({ x: sx, y: from.y + from.h });
    else points.push({ x: from.x, y: from.y + from.h - 12 }, { x: sx, y: from.y + from.h - 12 });
    points.push({ x: sx, y: laneY }, { x: tx, y: laneY });
    if (lowest.has(e.to)) points.push({ x: tx, y: to.y + to.h });
    else points.push({ x: tx, y: to.y + to.h - 12 }, { x: to.x + to.w, y: to.y + to.h - 12 });
    const candidates = [0.5, 0.35, 0.65, 0.2, 0.8, 0.1, 0.9].map((t) => ({
      x: sx + (tx - sx) * t,
      y: laneY,
    }));
    routes.set(e, { back: true, segments: rounded(points), candidates, extent: boundsOf(points) });
  });
}

export function selfLoop(b) {
  const x = b.x + b.w;
  const points = [
    { x, y: b.y + 12 },
    { x: x + 30, y: b.y + 12 },
    { x: x + 30, y: b.y + b.h - 12 },
    { x, y: b.y + b.h - 12 },
  ];
  const candidates = [0, -1, 1, -2, 2].map((k) => ({ x: x + 34 + 60, y: b.y + b.h / 2 + k * LABEL_STEP }));
  return { back: true, segments: rounded(points), candidates, extent: boundsOf(points) };
}

/**
 * The first candidate whose box overlaps no node and no placed label; then the same candidates
 * moved up and down a little, then further; failing all, the one overlapping least.
 */
export function placeLabel(candidates, size, nodes, placed) {
  const boxAt = (p, dy = 0) => ({ x: p.x - size.w / 2, y: p.y - size.h / 2 + dy, w: size.w, h: size.h });
  let best;
  let bestOverlap = Number.POSITIVE_INFINITY;
  for (const dy of [0, -(size.h / 2 + 4), size.h / 2 + 4, -(size.h + 6), size.h + 6]) {
    for (const p of candidates) {
      const b = boxAt(p, dy);
      const overlap =
        nodes.reduce((s, n) => s + overlapArea(b, n, 3), 0) +
        placed.reduce((s, l) => s + overlapArea(b, l, 2), 0);
      if (overlap === 0) return b;
      if (overlap < bestOverlap) {
        best = b;
        bestOverlap = overlap;
      }
    }
  }
  return best ?? boxAt({ x: 0, y: 0 });
}

/** The area two boxes share once `margin` is added around the first. */
export function overlapArea(a, b, margin = 0) {
  const w = Math.min(a.x + a.w + margin, b.x + b.w) - Math.max(a.x - margin, b.x);
  const h = Math.min(a.y + a.h + margin, b.y + b.h) - Math.max(a.y - margin, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/** An orthogonal run with rounded corners. */
function rounded(points) {
  const segments = [{ to: points[0] }];
  for (let i = 1; i < points.length - 1; i++) {
    const [a, p, b] = [points[i - 1], points[i], points[i + 1]];
    const r = Math.min(CORNER, distance(a, p) / 2, distance(p, b) / 2);
    segments.push({ to: toward(p, a, r) }, { q: p, to: toward(p, b, r) });
  }
  segments.push({ to: points.at(-1) });
  return segments;
}

export function pathOf(segments, dx, dy) {
  const pt = (p) => `${round(p.x + dx)},${round(p.y + dy)}`;
  return segments
    .map((s, i) => {
      if (i === 0) return `M${pt(s.to)}`;
      if (s.c1) return `C${pt(s.c1)} ${pt(s.c2)} ${pt(s.to)}`;
      if (s.q) return `Q${pt(s.q)} ${pt(s.to)}`;
      return `L${pt(s.to)}`;
    })
    .join(' ');
}

function cubicAt(a, c1, c2, b, t) {
  const u = 1 - t;
  const mix = (k) => u * u * u * a[k] + 3 * u * u * t * c1[k] + 3 * u * t * t * c2[k] + t * t * t * b[k];
  return { x: mix('x'), y: mix('y') };
}

function toward(from, to, length) {
  const d = distance(from, to) || 1;
  return { x: from.x + ((to.x - from.x) * length) / d, y: from.y + ((to.y - from.y) * length) / d };
}

function distance(a, b) {
  return Math.hypot(b.x - a.x, b.y - a.y);
}

function boundsOf(points) {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  return {
    x: Math.min(...xs),
    y: Math.min(...ys),
    w: Math.max(...xs) - Math.min(...xs),
    h: Math.max(...ys) - Math.min(...ys),
  };
}

export function edgeKey(e) {
  return `${e.from}\u0000${e.to}\u0000${e.transport ?? ''}`;
}

export function compareEdges(a, b) {
  return compare(edgeKey(a), edgeKey(b));
}

export function round(v) {
  return Math.round(v * 10) / 10;
}

export function compare(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}
