// The instances and topics tables, redrawn from each snapshot.

import { el, formatRate, replaceChildren } from './dom.js';
import { isHealthy } from './graph.js';

/** One row per instance: where it answers, its zone, health and whether callers eject it. */
export function renderInstances(tbody, snapshot) {
  const rows = [];
  const services = [...(snapshot.services ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  for (const service of services) {
    const instances = [...(service.instances ?? [])].sort((a, b) => a.id.localeCompare(b.id));
    for (const instance of instances) {
      const tone = isHealthy(instance.health) ? 'ok' : /^warn/i.test(instance.health) ? 'warn' : 'bad';
      rows.push(
        el(
          'tr',
          { 'data-testid': 'instance-row', 'data-instance-id': instance.id, 'data-service': service.name },
          el(
            'td',
            {},
            service.name,
            instance.service && instance.service !== service.name
              ? [el('br'), el('span', { class: 'muted' }, instance.service)]
              : [],
          ),
          el('td', { class: 'mono' }, instance.id),
          el(
            'td',
            { class: 'mono' },
            (instance.endpoints ?? []).map((e, i) => [
              i > 0 ? ' ' : '',
              el('span', { class: 'endpoint' }, `${e.transport}://${hostPort(e.host, e.port)}`),
            ]),
          ),
          el('td', { class: 'nowrap' }, instance.zone ?? '–'),
          el(
            'td',
            {},
            el(
              'span',
              { class: `badge ${tone}`, 'data-testid': 'instance-health' },
              String(instance.health ?? 'unknown'),
            ),
          ),
          el(
            'td',
            {},
            el(
              'span',
              { class: `badge ${instance.ejected ? 'bad' : 'quiet'}`, 'data-testid': 'instance-ejected' },
              instance.ejected ? 'ejected' : 'no',
            ),
          ),
        ),
      );
    }
  }
  if (rows.length === 0) rows.push(emptyRow(6, 'No instances registered.'));
  replaceChildren(tbody, rows);
}

/** One row per consumer group (or per topic without groups): publish rate, lag, dead letters. */
export function renderTopics(tbody, snapshot) {
  const rows = [];
  const topics = [...(snapshot.topics ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  for (const topic of topics) {
    const groups = topic.groups?.length ? topic.groups : [undefined];
    groups.forEach((group, i) => {
      const first = i === 0;
      rows.push(
        el(
          'tr',
          { 'data-testid': 'topic-row', 'data-topic': topic.name, 'data-group': group?.name },
          el('td', { class: 'mono' }, first ? topic.name : ''),
          el('td', { class: 'num' }, first ? String(topic.published ?? 0) : ''),
          el('td', { class: 'num' }, first ? formatRate(topic.publishRate) : ''),
          el('td', { class: 'mono' }, group?.name ?? '–'),
          el('td', { class: 'num' }, group ? String(group.lag ?? 0) : '–'),
          el(
            'td',
            { class: 'num' },
            group
              ? el(
                  'span',
                  { class: `badge ${group.deadLettered > 0 ? 'bad' : 'quiet'}` },
                  String(group.deadLettered ?? 0),
                )
              : '–',
          ),
        ),
      );
    });
  }
  if (rows.length === 0) rows.push(emptyRow(6, 'No topics yet.'));
  replaceChildren(tbody, rows);
}

function hostPort(host, port) {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function emptyRow(columns, text) {
  return el('tr', { class: 'empty' }, el('td', { colspan: columns, class: 'muted' }, text));
}
