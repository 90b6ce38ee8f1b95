// The contract of one service: the .proto files the hub holds for it, shown as text.

import { el, getJson, replaceChildren } from './dom.js';

export class ContractView {
  #select;
  #view;
  #shown;
  #loading;

  constructor(select, view) {
    this.#select = select;
    this.#view = view;
    select.addEventListener('change', () => void this.show(select.value));
  }

  /** Keeps the service choices in step with the registry; shows the first one unless one is chosen. */
  update(serviceNames) {
    const names = [...serviceNames].sort();
    const current = [...this.#select.options].map((o) => o.value);
    if (names.join('\n') !== current.join('\n')) {
      const chosen = this.#select.value;
      replaceChildren(
        this.#select,
        names.map((name) => el('option', { value: name }, name)),
      );
      if (names.includes(chosen)) this.#select.value = chosen;
    }
    if (this.#shown === undefined && names.length > 0) void this.show(this.#select.value || names[0]);
    if (names.length === 0 && this.#shown === undefined) {
      replaceChildren(this.#view, el('p', { class: 'muted' }, 'No services registered yet.'));
    }
  }

  /** Loads and shows the contract of `service`. */
  async show(service) {
    if (!service) return;
    this.#shown = service;
    if (this.#select.value !== service) this.#select.value = service;
    this.#loading?.abort();
    const loading = new AbortController();
    this.#loading = loading;
    replaceChildren(this.#view, el('p', { class: 'muted' }, `Loading the contract of ${service}…`));
    try {
      const contract = await getJson(
        `/api/v1/services/${encodeURIComponent(service)}/contract`,
        loading.signal,
      );
      const files = contract.files ?? [];
      replaceChildren(
        this.#view,
        files.length === 0
          ? el('p', { class: 'muted' }, `The hub holds no contract for ${service}.`)
          : files.map((file, i) =>
              // The service's own file comes first and is open; its imports are folded.
              el(
                'details',
                {
                  class: 'contract-file',
                  'data-testid': 'contract-file',
                  'data-file': file.name,
                  open: i === 0,
                },
                el('summary', { class: 'mono' }, file.name),
                el('pre', { class: 'mono' }, el('code', {}, file.text)),
              ),
            ),
      );
    } catch (err) {
      if (loading.signal.aborted) return;
      // 404: a service known only from its spans; the hub has no instance to ask. 502: its
      // instances could not say (not a Switchboard server, reflection off, unreachable).
      const missing = err.status === 404;
      const text =
        err.status === 502
          ? `The hub could not ask ${service} for its contract: ${err.message}`
          : `Contract of ${service}: ${err.message}`;
      replaceChildren(this.#view, el('p', { class: missing ? 'muted' : 'error-text' }, text));
    }
  }
}
