import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { EXPECTED_MESSAGE, GREETER_PATH, grpcRequestFrame, REQUEST_NAME } from './greeter.ts';
import { BenchChild, runCommand } from './processes.ts';
import { stackInfo } from './stacks/index.ts';
import { firstLine, missingModule } from './throughput.ts';

/**
 * h2load (nghttp2) driving a gRPC server with a fixed request body: the server's own ceiling,
 * without a Node client in the way. Latency percentiles come from h2load's per-request log.
 */

export interface H2loadConfig {
  clients: number;
  streams: number;
}

export const H2LOAD_CONFIGS: readonly H2loadConfig[] = [
  { clients: 1, streams: 64 },
  { clients: 4, streams: 16 },
];

export type H2loadServer = 'grpcjs' | 'grpc';

export interface H2loadRow {
  server: H2loadServer;
  label: string;
  clients: number;
  streams: number;
  status: 'ok' | 'skipped' | 'failed';
  note?: string;
  rps?: number;
  p50Ms?: number;
  p99Ms?: number;
  meanMs?: number;
  succeeded?: number;
  total?: number;
}

export interface H2loadSettings {
  host: string;
  durationS: number;
  warmupS: number;
}

/** One gRPC call over node:http2, to prove the server answers this very body correctly. */
async function checkGrpcAnswer(host: string, port: number, body: Buffer): Promise<void> {
  const session = http2.connect(`http://${host}:${port}`);
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      session.once('error', reject);
      const stream = session.request({
        ':method': 'POST',
        ':path': GREETER_PATH,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('trailers', (trailers) => {
        status = String(trailers['grpc-status']);
      });
      stream.on('error', reject);
      stream.on('end', () => {
        const bytes = Buffer.concat(chunks);
        if (status !== '0') reject(new Error(`grpc-status ${status} to the h2load body`));
        else resolve(bytes.subarray(5).toString('utf8'));
      });
      stream.end(body);
    });
    if (!answer.includes(EXPECTED_MESSAGE))
      throw new Error(`unexpected answer to the h2load body: ${answer}`);
  } finally {
    session.close();
  }
}

/** Per-request rows of h2load's --log-file: start µs, status, duration µs. */
function percentilesFromLog(file: string): { p50Ms: number; p99Ms: number } | undefined {
  const durations: number[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const micros = Number(line.split('\t')[2]);
    if (Number.isFinite(micros) && line) durations.push(micros);
  }
  if (durations.length === 0) return undefined;
  durations.sort((a, b) => a - b);
  const at = (q: number) =>
    durations[Math.min(durations.length - 1, Math.floor(q * durations.length))]! / 1000;
  return { p50Ms: at(0.5), p99Ms: at(0.99) };
}

function parseH2load(stdout: string): Pick<H2loadRow, 'rps' | 'meanMs' | 'succeeded' | 'total'> {
  const rps = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(stdout);
  const requests = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded/.exec(stdout);
  const time = /time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\b/.exec(stdout);
  if (!rps || !requests) throw new Error(`cannot read h2load's output: ${stdout.slice(0, 300)}`);
  const unit = time?.[2] === 'us' ? 0.001 : time?.[2] === 's' ? 1000 : 1;
  return {
    rps: Number(rps[1]),
    total: Number(requests[1]),
    succeeded: Number(requests[2]),
    meanMs: time ? Number(time[1]) * unit : undefined,
  };
}

async function h2load(
  url: string,
  bodyFile: string,
  logFile: string,
  config: H2loadConfig,
  settings: H2loadSettings,
) {
  const args = [
    '-D',
    String(settings.durationS),
    ...(settings.warmupS > 0 ? ['--warm-up-time', String(settings.warmupS)] : []),
    '-c',
    String(config.clients),
    '-m',
    String(config.streams),
    '-d',
    bodyFile,
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    '--log-file',
    logFile,
    url,
  ];
  const run = await runCommand('h2load', args, (settings.durationS + settings.warmupS + 60) * 1000);
  if (run.code !== 0)
    throw new Error(`h2load exited with ${run.code}: ${run.stderr.trim() || run.stdout.trim()}`);
  return { ...parseH2load(run.stdout), ...percentilesFromLog(logFile) };
}

export async function measureH2load(server: H2loadServer, settings: H2loadSettings): Promise<H2loadRow[]> {
  const info = stackInfo(server);
  const label = server === 'grpc' ? 'Switchboard gRPC server' : '@grpc/grpc-js server';
  const rows = (status: H2loadRow['status'], note: string) =>
    H2LOAD_CONFIGS.map((c): H2loadRow => ({ server, label, ...c, status, note }));
  const missing = missingModule(info);
  if (missing) return rows('skipped', `skipped: ${missing}`);
  const check = await runCommand('h2load', ['--version'], 10_000).catch(() => undefined);
  if (check?.code !== 0)
    return rows('skipped', 'skipped: h2load is not installed (apt install nghttp2-client)');

  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-h2load-'));
  const bodyFile = path.join(dir, 'request.bin');
  const body = grpcRequestFrame(REQUEST_NAME);
  writeFileSync(bodyFile, body);
  const child = new BenchChild({ role: 'server', stack: server, host: settings.host, port: 0 });
  try {
    const { port } = await child.next('ready', 60_000);
    await checkGrpcAnswer(settings.host, port, body);
    const out: H2loadRow[] = [];
    for (const config of H2LOAD_CONFIGS) {
      const logFile = path.join(dir, `c${config.clients}-m${config.streams}.log`);
      try {
        const measured = await h2load(
          `http://${settings.host}:${port}${GREETER_PATH}`,
          bodyFile,
          logFile,
          config,
          settings,
        );
        const failedCalls = (measured.total ?? 0) - (measured.succeeded ?? 0);
        out.push({
          server,
          label,
          ...config,
          status: 'ok',
          ...measured,
          note: failedCalls > 0 ? `${failedCalls} non-2xx responses` : undefined,
        });
      } catch (err) {
        out.push({ server, label, ...config, status: 'failed', note: `failed: ${firstLine(err)}` });
      }
    }
    return out;
  } catch (err) {
    return rows('failed', `failed: ${firstLine(err)}`);
  } finally {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
