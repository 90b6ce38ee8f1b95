import { type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import path from 'node:path';
import { isIgnoredName } from './service-discovery.ts';

export interface FileWatcherOptions {
  /** Quiet time after the last change before `onChanges` hears of a batch; 150 ms unless set. */
  debounceMs?: number;
  /** Polling interval of the fallback, where recursive fs.watch is unsupported; 500 ms unless set. */
  pollMs?: number;
  /** 'polling' polls even where recursive fs.watch works (network file systems, tests). */
  mode?: 'auto' | 'polling';
  /** Whether to skip a path (relative to the root); node_modules, .git and dotfiles always are. */
  ignore?: (relativePath: string) => boolean;
}

/**
 * Watches a folder tree and reports changed files (relative paths) in batches: an editor's
 * save is several events (write, rename, chmod), and a `git checkout` touches many files, so
 * changes are gathered until `debounceMs` pass without one. Uses fs.watch with
 * `recursive: true` (Node 20 on Linux, macOS, Windows); where that throws, polls the tree's
 * modification times instead.
 */
export class FileWatcher {
  readonly #root: string;
  readonly #onChanges: (paths: string[]) => void;
  readonly #debounceMs: number;
  readonly #pollMs: number;
  readonly #mode: 'auto' | 'polling';
  readonly #ignore: (relativePath: string) => boolean;
  readonly #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #watcher: FSWatcher | undefined;
  #poller: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(root: string, onChanges: (paths: string[]) => void, options: FileWatcherOptions = {}) {
    this.#root = path.resolve(root);
    this.#onChanges = onChanges;
    this.#debounceMs = options.debounceMs ?? 150;
    this.#pollMs = options.pollMs ?? 500;
    this.#mode = options.mode ?? 'auto';
    const extra = options.ignore ?? (() => false);
    this.#ignore = (p) => p.split(/[\\/]/).some(isIgnoredName) || extra(p);
  }

  /** 'recursive' or 'polling': how changes are being noticed. */
  start(): 'recursive' | 'polling' {
    if (this.#mode === 'polling') {
      this.#startPolling();
      return 'polling';
    }
    try {
      this.#watcher = watch(this.#root, { recursive: true }, (_event, file) => {
        if (file) this.#changed(file.toString());
      });
      // A watched folder that disappears (or another watch error) must not crash `dev`.
      this.#watcher.on('error', () => {});
      return 'recursive';
    } catch {
      this.#startPolling();
      return 'polling';
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#poller);
    this.#watcher?.close();
  }

  #changed(relativePath: string): void {
    if (this.#closed || this.#ignore(relativePath)) return;
    // A folder's own event (created, a file added to it) is not a change of code: its files
    // report their own.
    if (isDirectory(path.join(this.#root, relativePath))) return;
    this.#pending.add(relativePath);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const paths = [...this.#pending];
      this.#pending.clear();
      if (!this.#closed) this.#onChanges(paths);
    }, this.#debounceMs);
  }

  #startPolling(): void {
    let known = this.#snapshot();
    this.#poller = setInterval(() => {
      const now = this.#snapshot();
      for (const [file, mtime] of now) if (known.get(file) !== mtime) this.#changed(file);
      for (const file of known.keys()) if (!now.has(file)) this.#changed(file);
      known = now;
    }, this.#pollMs);
    this.#poller.unref();
  }

  /** Every file's modification time, by relative path. */
  #snapshot(): Map<string, number> {
    const files = new Map<string, number>();
    const walk = (dir: string): void => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        if (isIgnoredName(entry.name)) continue;
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else {
          try {
            files.set(path.relative(this.#root, full), statSync(full).mtimeMs);
          } catch {
            // Gone between the listing and the stat: the next poll notices.
          }
        }
      }
    };
    walk(this.#root);
    return files;
  }
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}
