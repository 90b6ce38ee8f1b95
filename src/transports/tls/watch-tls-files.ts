import { type FSWatcher, watch } from 'node:fs';
import path from 'node:path';
import { readTlsFiles, type TlsFiles, type TlsMaterial, warn } from './tls-files.ts';

export interface WatchTlsFilesOptions {
  /** A file that cannot be used (half written, key and certificate apart): the old context stays. */
  onError?: (err: Error) => void;
  /** Quiet time after the last change before the files are read: 100 ms unless set. */
  debounceMs?: number;
}

export interface TlsFileWatch {
  /** The material in use: the last good read. */
  readonly current: TlsMaterial;
  close(): void;
}

/**
 * Reads TlsFiles (throwing when they are unusable at the start), then watches them and calls
 * `onChange` with each new, valid material. The folders are watched rather than the files:
 * editors and tools (and Kubernetes secret volumes) replace a file by renaming a new one
 * into place, which ends a watch on the old file. Changes are read after a quiet time, so a
 * file written in several steps is read whole; a read that fails keeps the old material.
 */
export function watchTlsFiles(
  files: TlsFiles,
  onChange: (material: TlsMaterial) => void,
  options: WatchTlsFilesOptions = {},
): TlsFileWatch {
  const onError = options.onError ?? warn;
  const debounceMs = options.debounceMs ?? 100;
  let current = readTlsFiles(files);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const reload = () => {
    timer = undefined;
    if (closed) return;
    let next: TlsMaterial;
    try {
      next = readTlsFiles(files);
    } catch (err) {
      onError(err as Error);
      return;
    }
    if (sameMaterial(next, current)) return;
    current = next;
    try {
      onChange(next);
    } catch (err) {
      onError(err as Error);
    }
  };
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(reload, debounceMs);
    timer.unref();
  };
  const folders = new Set(
    [files.certFile, files.keyFile, files.caFile]
      .filter((f): f is string => f !== undefined)
      .map((f) => path.dirname(path.resolve(f))),
  );
  const watchers: FSWatcher[] = [];
  for (const folder of folders) {
    const watcher = watch(folder, { persistent: false }, changed);
    watcher.on('error', (err) => onError(err));
    watchers.push(watcher);
  }
  return {
    get current() {
      return current;
    },
    close() {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}

function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  return same(a.cert, b.cert) && same(a.key, b.key) && same(a.ca, b.ca);
}

function same(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}
