// Recent traces, and one trace as a waterfall: a row per span, indented under its parent, with
// a bar placed by its start and sized by its duration on the trace's time axis.

import { el, formatClock, formatMs, getJson, replaceChildren } from './dom.js';
import { emptyRow } from './tables.js';

export class TraceView {
  #tbody;
  #waterfall;
  #selected;
  #loading;
  /** Spans in the drawn waterfall: a trace still arriving is drawn again when it grows. */
  #drawnSpans = 0;

  constructor(tbody, waterfall) {
    this.#tbody = tbody;
    this.#waterfall = waterfall;
  }

  /** Reloads the list of recent traces. */
  async refresh(signal) {
    const { traces = [] } = await getJson('/api/v1/traces?limit=50', signal);
    const rows = traces.map((t) =>
      el(
        'tr',
        {
          class: `trace-row${t.error ? ' error' : ''}${t.traceId === this.#selected ? ' selected' : ''}`,
          'data-testid': 'trace-row',
          'data-trace-id': t.traceId,
        },
        el(
          'td',
          {},
          el(
            'button',
            {
              type: 'button',
              class: 'link',
              'data-testid': 'trace-open',
              'aria-label': `open trace ${t.rootName} (${t.traceId})`,
              onclick: () => void this.open(t.traceId),
            },
            t.rootName ?? t.traceId,
          ),
          t.error ? el('span', { class: 'badge bad' }, 'error') : '',
          el('div', { class: 'muted' }, t.rootService ?? ''),
        ),
        el('td', {}, (t.services ?? []).join(', ')),
        el('td', { class: 'num' }, String(t.spanCount ?? '')),
        el('td', { class: 'num' }, formatMs(t.durationMs)),
        el('td', { class: 'num' }, formatClock(t.startMs)),
      ),
    );
    if (rows.length === 0) rows.push(emptyRow(5, 'No traces received yet.'));
    replaceChildren(this.#tbody, rows);
    const shown = traces.find((t) => t.traceId === this.#selected);
    if (shown && shown.spanCount !== this.#drawnSpans) await this.open(shown.traceId);
  }

  /** Shows one trace's spans as a waterfall. */
  async open(traceId) {
    this.#selected = traceId;
    for (const row of this.#tbody.querySelectorAll('tr[data-trace-id]')) {
      row.classList.toggle('selected', row.dataset.traceId === traceId);
    }
    this.#loading?.abort();
    const loading = new AbortController();
    this.#loading = loading;
    try {
      const trace = await getJson(`/api/v1/traces/${encodeURIComponent(traceId)}`, loading.signal);
      if (this.#selected === traceId) this.#draw(trace);
    } catch (err) {
      if (loading.signal.aborted) return;
      replaceChildren(this.#waterfall, el('p', { class: 'error-text' }, `Trace ${traceId}: ${err.message}`));
    }
  }

  #draw(trace) {
    const spans = orderByTree(trace.spans ?? []);
    this.#drawnSpans = spans.length;
    const start = Math.min(...spans.map(({ span }) => span.startMs));
    const end = Math.max(...spans.map(({ span }) => span.startMs + span.durationMs));
    const total = Math.max(end - start, 0.001);
    const detail = el('div', { class: 'span-detail', 'data-testid': 'span-detail' });
    const rows = spans.map(({ span, depth }) => {
      const failed = span.status?.code === 'error';
      const bar = el('div', { class: `span-bar ${span.kind ?? ''}${failed ? ' error' : ''}` });
      // CSSOM, not a style attribute: the page's content security policy allows only the former.
      bar.style.left = `${((span.startMs - start) / total) * 100}%`;
      bar.style.width = `max(2px, ${(span.durationMs / total) * 100}%)`;
      const name = el(
        'div',
        { class: 'span-name', title: `${span.service}: ${span.name}` },
        el('span', { class: 'span-service' }, span.service),
        ' ',
        span.name,
      );
      name.style.paddingLeft = `${depth * 14}px`;
      return el(
        'div',
        {
          class: 'span-row',
          role: 'button',
          tabindex: 0,
          'data-testid': 'span-row',
          'data-span-id': span.spanId,
          'data-service': span.service,
          'data-depth': depth,
          onclick: () => showDetail(detail, span),
          onkeydown: (event) => {
            if (event.key === 'Enter' || event.key === ' ') showDetail(detail, span);
          },
        },
        name,
        el('div', { class: 'span-track' }, bar),
        el('div', { class: 'span-duration num' }, formatMs(span.durationMs)),
      );
    });
    replaceChildren(
      this.#waterfall,
      el(
        'h3',
        { 'data-testid': 'waterfall-title' },
        `Trace ${trace.traceId} · ${spans.length} spans · ${formatMs(total)}`,
      ),
      el('div', { class: 'span-rows' }, axis(total), rows),
      detail,
    );
  }
}

/** The time axis above the bars: 0, quarters, and the trace's whole duration. */
function axis(total) {
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((share) => {
    const tick = el('span', { class: 'tick' }, formatMs(total * share));
    tick.style.left = `${share * 100}%`;
    return tick;
  });
  return el(
    'div',
    { class: 'span-row axis', 'aria-hidden': 'true' },
    el('div', {}),
    el('div', { class: 'span-axis' }, ticks),
    el('div', {}),
  );
}

/** Spans in tree order (parents first, siblings by start), each with its depth. */
export function orderByTree(spans) {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map();
  const roots = [];
  for (const span of spans) {
    // A parent that never arrived (still running, or in another process's lost batch): a root.
    if (span.parentSpanId && ids.has(span.parentSpanId)) {
      const list = children.get(span.parentSpanId) ?? [];
      list.push(span);
      children.set(span.parentSpanId, list);
    } else roots.push(span);
  }
  const byStart = (a, b) => a.startMs - b.startMs;
  const ordered = [];
  const visit = (span, depth) => {
    ordered.push({ span, depth });
    for (const child of (children.get(span.spanId) ?? []).sort(byStart)) visit(child, depth + 1);
  };
  for (const root of roots.sort(byStart)) visit(root, 0);
  return ordered;
}

function showDetail(detail, span) {
  const attributes = Object.entries(span.attributes ?? {}).sort(([a], [b]) => a.localeCompare(b));
  replaceChildren(
    detail,
    el('h4', {}, `${span.service}: ${span.name}`),
    el(
      'dl',
      {},
      [
        ['kind', span.kind],
        ['status', span.status?.message ? `${span.status.code}: ${span.status.message}` : span.status?.code],
        ['duration', formatMs(span.durationMs)],
        ['span id', span.spanId],
        ...attributes,
      ].map(([key, value]) => [el('dt', {}, key), el('dd', { class: 'mono' }, String(value ?? ''))]),
    ),
  );
}
