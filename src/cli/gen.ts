import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRoot } from '../contract/contract.ts';
import { ProtoFileSet } from '../services/proto-files.ts';
import { type Command, EXIT_OK, UsageError, usage } from './command.ts';
import { type GeneratedFile, generateTypeScript } from './ts-generator.ts';

const HELP = `Usage: switchboard gen <file.proto...> --out <dir> [options]

Generates TypeScript types for .proto files: one .ts file per .proto file, named and placed
as the .proto is ("greeter.proto" -> <dir>/greeter.ts, "google/protobuf/timestamp.proto" ->
<dir>/google/protobuf/timestamp.ts), plus one for each imported file whose types are used.
Each holds an interface per message, a const object and union type per enum, and per
service a method map and its full name:

  export const GreeterServiceName = 'greet.Greeter';
  export type GreeterService = { sayHello: UnaryMethod<Request, Response> };

  const client = createClient<GreeterService>(contract.service(GreeterServiceName), transport);
  host.add<GreeterService>(contract.service(GreeterServiceName), { sayHello: (req) => ... });

Options:
  -o, --out <dir>               where to write (created if missing)
  -I, --include <dir>           folder searched for imports (repeatable)
      --runtime-import <module> where the method types come from (default switchboard/core)
      --import-extension <ext>  extension of imports between generated files: .ts (default),
                                .js, or none
  -h, --help                    this text

Exit codes: 0 written, 1 a file could not be written, 2 usage error or a .proto that does
not load.
`;

const OPTIONS = {
  out: { type: 'string', short: 'o' },
  include: { type: 'string', short: 'I', multiple: true },
  'runtime-import': { type: 'string' },
  'import-extension': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const genCommand: Command = {
  name: 'gen',
  summary: 'generate TypeScript types for .proto files',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = usage(() =>
      parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }),
    );
    if (values.help) {
      io.out(HELP);
      return EXIT_OK;
    }
    if (positionals.length === 0)
      throw new UsageError('which .proto files? e.g. switchboard gen greeter.proto --out gen');
    if (!values.out) throw new UsageError('--out <dir> is required');
    const extension = values['import-extension'] ?? '.ts';
    if (!['.ts', '.js', 'none', ''].includes(extension)) {
      throw new UsageError(`--import-extension must be .ts, .js or none, not ${JSON.stringify(extension)}`);
    }
    const files = await generate(positionals, values.include ?? [], {
      runtimeImport: values['runtime-import'],
      importExtension: extension === 'none' ? '' : extension,
    });
    for (const file of files) {
      const target = path.join(values.out, file.path);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, file.content);
      io.out(`${target}\n`);
    }
    return EXIT_OK;
  },
};

/** Loads the .proto files (comments kept, for doc comments) and generates their TypeScript. */
export async function generate(
  protoFiles: readonly string[],
  includeDirs: readonly string[],
  options: { runtimeImport?: string | undefined; importExtension?: string },
): Promise<GeneratedFile[]> {
  const root = createRoot({ includeDirs: [...includeDirs] });
  const absolute = protoFiles.map((f) => path.resolve(f));
  try {
    await root.load(absolute, { keepCase: false, alternateCommentMode: true });
    root.resolveAll();
  } catch (err) {
    throw new UsageError(`cannot load ${protoFiles.join(', ')}: ${(err as Error).message}`);
  }
  const set = new ProtoFileSet([root]);
  const entries = set.files.filter((f) => f.source !== undefined && absolute.includes(f.source));
  return generateTypeScript(set, entries, {
    ...(options.runtimeImport ? { runtimeImport: options.runtimeImport } : {}),
    importExtension: options.importExtension ?? '.ts',
  });
}
