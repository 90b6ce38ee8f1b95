import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** A service `switchboard dev` runs: a subfolder of the dev folder holding an entry file. */
export interface DevService {
  /** The folder's name: the log prefix and the name --only/--exclude use. */
  readonly name: string;
  /** The service's folder, absolute. */
  readonly dir: string;
  /** Its entry file, absolute. */
  readonly entry: string;
}

/** Entry file names, in order of preference. */
export const ENTRY_FILES = ['main.ts', 'main.js', 'main.mjs'] as const;

/** Folders never looked into: dependencies, VCS data, hidden folders. */
export function isIgnoredName(name: string): boolean {
  return name === 'node_modules' || name.startsWith('.');
}

/**
 * The services of `dir`: its immediate subfolders that hold one of ENTRY_FILES, sorted by
 * name. Subfolders without one (shared code: `proto/`, `lib/`) are not services.
 */
export function findServices(dir: string): DevService[] {
  const root = path.resolve(dir);
  const services: DevService[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || isIgnoredName(entry.name)) continue;
    const serviceDir = path.join(root, entry.name);
    const file = ENTRY_FILES.find((name) => existsSync(path.join(serviceDir, name)));
    if (file) services.push({ name: entry.name, dir: serviceDir, entry: path.join(serviceDir, file) });
  }
  return services.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The services --only and --exclude leave. A name that matches no service is an error
 * (a typo should not silently run nothing), thrown as a TypeError naming the known ones.
 */
export function selectServices(
  services: readonly DevService[],
  only: readonly string[] | undefined,
  exclude: readonly string[] = [],
): DevService[] {
  const known = new Set(services.map((s) => s.name));
  for (const name of [...(only ?? []), ...exclude]) {
    if (!known.has(name)) {
      const list = [...known].join(', ') || 'none';
      throw new TypeError(`no service named ${JSON.stringify(name)} (services: ${list})`);
    }
  }
  return services.filter((s) => (only === undefined || only.includes(s.name)) && !exclude.includes(s.name));
}

/**
 * Whom a changed file (relative to the dev folder) concerns: the name of the service whose
 * folder holds it, 'shared' for any other file, or undefined for files to ignore
 * (node_modules, .git, dotfiles, at any depth).
 */
export function ownerOf(relativePath: string, serviceNames: ReadonlySet<string>): string | undefined {
  const parts = relativePath.split(/[\\/]/).filter((p) => p !== '');
  if (parts.length === 0 || parts.some(isIgnoredName)) return undefined;
  const first = parts[0] as string;
  return serviceNames.has(first) ? first : 'shared';
}
