#!/usr/bin/env node
// The `switchboard` command. Runs the compiled CLI (dist/, after `npm run build`) when there is
// one, and otherwise the TypeScript sources through tsx, so a checkout works without a build.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
let cli;
if (existsSync(compiled)) {
  cli = await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
process.exitCode = await cli.run(process.argv.slice(2));
