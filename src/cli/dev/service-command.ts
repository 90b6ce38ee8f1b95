/** What a service process is started with: by `switchboard dev` for each child, and by `serve`. */
export interface ServiceLaunch {
  /** The program: this Node. */
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** `--import tsx`, resolved from Switchboard's own dependencies so a service needs none. */
function tsxImport(): string {
  try {
    return import.meta.resolve('tsx');
  } catch {
    return 'tsx';
  }
}

/** The orphan guard, beside this file (.ts in a checkout, .js once compiled). */
function guardImport(): string {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./orphan-guard${extension}`, import.meta.url).href;
}

/**
 * `node --import tsx --import <orphan guard> <entry>` with the parent's environment plus
 * SWITCHBOARD_HUB (the hub's URL), SWITCHBOARD_SERVICE_NAME and SWITCHBOARD_DEV=1.
 */
export function serviceLaunch(
  entry: string,
  options: { hubUrl?: string; name: string; env?: NodeJS.ProcessEnv },
): ServiceLaunch {
  const env: NodeJS.ProcessEnv = {
    ...(options.env ?? process.env),
    SWITCHBOARD_SERVICE_NAME: options.name,
    SWITCHBOARD_DEV: '1',
  };
  if (options.hubUrl !== undefined) env.SWITCHBOARD_HUB = options.hubUrl;
  return {
    command: process.execPath,
    args: ['--import', tsxImport(), '--import', guardImport(), entry],
    env,
  };
}
