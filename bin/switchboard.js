#!/usr/bin/env node
// The `switchboard` command. In a checkout (src/ present) it runs the TypeScript sources through
// tsx, so the command is never older than the code; an installed package has only the compiled
// dist/, and runs that.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
let cli;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(source.href);
} else {
  cli = await import(new URL('../dist/cli/main.js', import.meta.url).href);
}
process.exitCode = await cli.run(process.argv.slice(2));
