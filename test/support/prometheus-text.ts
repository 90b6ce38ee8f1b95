/**
 * Reading a scrape the way Prometheus's own tooling does: the Python client's text-format
 * parser (`prometheus_client.parser`), so "it parses" means what Prometheus means by it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

// Debian's python3-prometheus-client lives beside /usr/bin/python3, not in a pyenv's python3.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const PARSE = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families as parse
# NaN is valid in the text format (an event-loop histogram before its first sample); JSON has none.
def number(v):
    return v if math.isfinite(v) else str(v)
out = []
for family in parse(sys.stdin.read()):
    out.append({"name": family.name, "type": family.type,
                "samples": [{"name": s.name, "labels": s.labels, "value": number(s.value)} for s in family.samples]})
print(json.dumps(out))
`;

export interface MetricFamily {
  name: string;
  type: string;
  samples: { name: string; labels: Record<string, string>; value: number | string }[];
}

/** The families Prometheus's Python parser reads from `text`; rejects when it cannot parse it. */
export function parseWithPython(text: string): Promise<MetricFamily[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', PARSE], { stdio: ['pipe', 'pipe', 'pipe'], timeout: 20_000 });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(out) as MetricFamily[]);
      else reject(new Error(`the Prometheus parser failed (${code}): ${err}`));
    });
    child.stdin.end(text);
  });
}

/** GETs a metrics URL: 200 expected, within 10 s. */
export async function scrape(url: string): Promise<{ contentType: string | null; text: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  assert.equal(response.status, 200, url);
  return { contentType: response.headers.get('content-type'), text: await response.text() };
}

/** The family named `name`; fails the test, listing the families there are, when absent. */
export function family(families: MetricFamily[], name: string): MetricFamily {
  const found = families.find((f) => f.name === name);
  assert.ok(found, `no family ${name} in ${families.map((f) => f.name).join(', ')}`);
  return found;
}
