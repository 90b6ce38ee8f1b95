/**
 * One line per thing that happened. `switchboard dev` prefixes each line with the service's
 * name itself (SWITCHBOARD_DEV=1); run alone, a service prefixes its own lines.
 */
export type Log = (line: string) => void;

export function logger(name: string, env: NodeJS.ProcessEnv = process.env): Log {
  const prefix = env.SWITCHBOARD_DEV === '1' ? '' : `${name}: `;
  return (line) => process.stdout.write(`${prefix}${line}\n`);
}
