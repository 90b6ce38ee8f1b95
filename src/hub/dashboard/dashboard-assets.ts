import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { sendError } from '../http-kit.ts';

/**
 * The dashboard's page: static files (HTML, ES modules, CSS) served by the hub from
 * `assets/` beside this module. No build step: what is in the folder is what the browser runs.
 * `GET /` and `GET /dashboard/` answer the page, `GET /dashboard/<file>` one asset.
 */

/** Where the page lives on the hub. */
export const DASHBOARD_PATH = '/dashboard/';

const ASSETS_DIR = fileURLToPath(new URL('./assets/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

// A plain file name with a known extension: no slashes, dots only before the extension, no
// percent escapes. Anything else (including every traversal attempt) is not an asset.
const ASSET_NAME = /^[a-z0-9][a-z0-9-]*\.(html|js|css|svg)$/;

// The page needs nothing but the hub: scripts, styles and connections only to the same origin,
// and no framing (it shows the topology of the system).
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

interface Asset {
  body: Buffer;
  etag: string;
  type: string;
}

/** Serves the page's files; reads each once and keeps it (they are a few kilobytes). */
export class DashboardAssets {
  readonly #dir: string;
  readonly #cache = new Map<string, Promise<Asset | undefined>>();
  #names: Promise<Set<string>> | undefined;

  constructor(dir = ASSETS_DIR) {
    this.#dir = dir;
  }

  /** Answers the request and returns true when the path is the dashboard's; false otherwise. */
  /** Whether `url` is the page or one of its assets (which the hub's access policy guards). */
  serves(url: URL): boolean {
    return assetName(url.pathname) !== undefined;
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const name = assetName(url.pathname);
    if (name === undefined) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, `${req.method} is not allowed on the dashboard`, { allow: 'GET, HEAD' });
      return true;
    }
    const asset = name === null ? undefined : await this.#load(name);
    if (!asset) {
      sendError(res, 404, `no dashboard asset ${url.pathname}`);
      return true;
    }
    const headers: Record<string, string> = {
      ...SECURITY_HEADERS,
      etag: asset.etag,
      // Names carry no version, so the browser revalidates each time: a 304 when unchanged.
      'cache-control': 'no-cache',
    };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    res.writeHead(200, {
      ...headers,
      'content-type': asset.type,
      'content-length': asset.body.length,
    });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
    return true;
  }

  async #load(name: string): Promise<Asset | undefined> {
    // Only files that are in the folder are read and kept, so unknown names cost nothing.
    this.#names ??= readdir(this.#dir).then(
      (names) => new Set(names),
      () => new Set<string>(),
    );
    if (!(await this.#names).has(name)) return undefined;
    let asset = this.#cache.get(name);
    if (!asset) {
      asset = readAsset(`${this.#dir}/${name}`);
      this.#cache.set(name, asset);
    }
    return await asset;
  }
}

/**
 * The asset a path names: a file name, null for a dashboard path that names no valid asset
 * (answered 404), undefined for a path that is not the dashboard's.
 */
function assetName(pathname: string): string | null | undefined {
  if (pathname === '/' || pathname === '/dashboard' || pathname === DASHBOARD_PATH) return 'index.html';
  if (!pathname.startsWith(DASHBOARD_PATH)) return undefined;
  const name = pathname.slice(DASHBOARD_PATH.length);
  return ASSET_NAME.test(name) ? name : null;
}

async function readAsset(file: string): Promise<Asset | undefined> {
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    return undefined;
  }
  const extension = file.slice(file.lastIndexOf('.') + 1);
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 22);
  return { body, etag: `"${hash}"`, type: CONTENT_TYPES[extension] ?? 'application/octet-stream' };
}
