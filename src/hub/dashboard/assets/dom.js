// Small DOM helpers shared by the page's modules. Text always goes in as text (never as
// HTML): service names, span attributes and contracts come from the network.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An HTML element with attributes and children (strings become text nodes). */
export function el(tag, attributes = {}, ...children) {
  return fill(document.createElement(tag), attributes, children);
}

/** An SVG element with attributes and children. */
export function svg(tag, attributes = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attributes, children);
}

function fill(node, attributes, children) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
  return node;
}

/** Replaces all children of `node`. */
export function replaceChildren(node, ...children) {
  node.replaceChildren(
    ...children.flat(Number.POSITIVE_INFINITY).filter((c) => c !== undefined && c !== null && c !== false),
  );
}

/** "12.3" for a rate per second; small rates keep two decimals. */
export function formatRate(perSecond) {
  if (!Number.isFinite(perSecond)) return '–';
  if (perSecond === 0) return '0';
  return perSecond < 10 ? perSecond.toFixed(2) : perSecond.toFixed(1);
}

/** An error rate (a fraction 0..1) as a percentage: "0.0 %". */
export function formatPercent(fraction) {
  if (!Number.isFinite(fraction)) return '–';
  return `${(fraction * 100).toFixed(1)} %`;
}

/** Milliseconds, with sub-millisecond precision only where it matters. */
export function formatMs(ms) {
  if (!Number.isFinite(ms)) return '–';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(1)} ms`;
}

/** A wall-clock time "14:03:07" from epoch milliseconds. */
export function formatClock(epochMs) {
  if (!Number.isFinite(epochMs)) return '';
  return new Date(epochMs).toLocaleTimeString([], { hour12: false });
}

/** The severity class of an error rate: what the graph and tables colour by. */
export function severity(errorRate, rate) {
  if (!(rate > 0)) return 'idle';
  if (errorRate >= 0.05) return 'bad';
  if (errorRate >= 0.01) return 'warn';
  return 'ok';
}

/** Fetches JSON from the hub; throws with the hub's error message on a non-2xx answer. */
export async function getJson(path, signal) {
  const res = await fetch(path, { headers: { accept: 'application/json' }, signal });
  const body = await res.json().catch(() => ({}));
  if (!res.ok)
    throw Object.assign(new Error(body.error ?? `${res.status} ${res.statusText}`), { status: res.status });
  return body;
}
