// The dashboard's entry point: takes snapshots from the hub's event stream (reconnecting when
// it drops), redraws the graph and tables from each, and polls the recent traces.

import { ContractView } from './contract.js';
import { formatClock, getJson } from './dom.js';
import { renderGraph } from './graph.js';
import { renderInstances, renderTopics } from './tables.js';
import { TraceView } from './traces.js';

const STREAM_PATH = '/api/v1/dashboard/stream';
const SNAPSHOT_PATH = '/api/v1/dashboard/snapshot';
/** The hub sends a snapshot every second; this long without one means the stream is dead. */
const STALE_AFTER_MS = 5000;
const TRACES_EVERY_MS = 3000;
const MAX_BACKOFF_MS = 10_000;

const $ = (id) => document.getElementById(id);

const status = $('live-status');
const contract = new ContractView($('contract-service'), $('contract'));
const traces = new TraceView($('traces').tBodies[0], $('waterfall'));

function showSnapshot(snapshot) {
  const graph = renderGraph($('topology'), snapshot, (name) => {
    // A node is a process; its contract is that of the service it serves.
    const node = (snapshot.services ?? []).find((s) => s.name === name);
    void contract.show(node?.serves?.[0] ?? name);
    $('contract-section').scrollIntoView({ behavior: 'smooth', block: 'nearest' });
  });
  $('topology-empty').hidden = graph.nodes.length > 0;
  renderInstances($('instances').tBodies[0], snapshot);
  renderTopics($('topics').tBodies[0], snapshot);
  // Only registered services have a contract to show: the hub asks an instance for it.
  contract.update(
    (snapshot.services ?? []).flatMap((s) => (s.instances?.length > 0 ? (s.serves ?? []) : [])),
  );
  const time = typeof snapshot.time === 'number' ? snapshot.time : Date.parse(snapshot.time);
  $('snapshot-time').textContent = Number.isFinite(time) ? `updated ${formatClock(time)}` : '';
}

function setState(state) {
  if (status.dataset.state === state) return;
  status.dataset.state = state;
  status.textContent = state;
  status.title =
    state === 'live' ? 'receiving snapshots every second' : 'no snapshots from the hub; reconnecting';
}

/**
 * The snapshot stream. EventSource retries by itself after a dropped connection, but gives up
 * for good on an HTTP error answer and cannot notice a stream that stalls; both are handled
 * here with a fresh EventSource after a growing delay.
 */
class LiveStream {
  #source;
  #lastSnapshotAt = 0;
  #backoffMs = 500;
  #retry;

  /** True once a snapshot came over the stream (newer than any fetched before). */
  get receiving() {
    return this.#lastSnapshotAt > 0;
  }

  start() {
    this.#open();
    setInterval(() => {
      if (status.dataset.state === 'live' && Date.now() - this.#lastSnapshotAt > STALE_AFTER_MS) {
        setState('disconnected');
        this.#reopenLater();
      }
    }, 1000);
  }

  #open() {
    this.#retry = undefined;
    const source = new EventSource(STREAM_PATH);
    this.#source = source;
    source.addEventListener('snapshot', (event) => {
      this.#lastSnapshotAt = Date.now();
      this.#backoffMs = 500;
      setState('live');
      try {
        showSnapshot(JSON.parse(event.data));
      } catch (err) {
        console.error('dashboard: unreadable snapshot', err);
      }
    });
    source.addEventListener('error', () => {
      setState('disconnected');
      if (source.readyState === EventSource.CLOSED) this.#reopenLater();
    });
  }

  #reopenLater() {
    this.#source?.close();
    if (this.#retry) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS);
    this.#retry = setTimeout(() => this.#open(), delay);
  }
}

async function pollTraces() {
  if (document.visibilityState === 'visible') {
    try {
      await traces.refresh();
    } catch (err) {
      console.warn('dashboard: traces', err.message);
    }
  }
  setTimeout(pollTraces, TRACES_EVERY_MS);
}

// A first picture without waiting for the stream's first event.
const stream = new LiveStream();
getJson(SNAPSHOT_PATH).then(
  (snapshot) => {
    if (!stream.receiving) showSnapshot(snapshot);
  },
  (err) => console.warn('dashboard: snapshot', err.message),
);
stream.start();
void pollTraces();
