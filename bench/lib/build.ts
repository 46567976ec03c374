import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

/**
 * Compiles the benchmark's child entry points (and what they import from src/) to JavaScript with the project's
 * own compiler settings, so the measured children run on plain `node`: no tsx loader thread or on-the-fly
 * transforms in the processes whose memory and CPU are measured. Output goes under node_modules/.cache, where
 * bare imports (`ws`, the AWS SDK) still resolve. Returns a function mapping an entry point to its output.
 */
export async function buildChildren(root: string, entries: string[]): Promise<(entry: string) => string> {
  const dir = join(root, 'node_modules', '.cache', 'connect-bot-bench');
  const out = join(dir, 'out');
  mkdirSync(out, { recursive: true });
  const config = {
    extends: relative(dir, join(root, 'tsconfig.json')),
    compilerOptions: {
      noEmit: false,
      outDir: './out',
      rootDir: relative(dir, root),
      declaration: false,
      sourceMap: false,
      incremental: false,
    },
    files: entries.map((entry) => relative(dir, entry)),
    include: [],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config, null, 2));
  // Node stops looking for a package scope at node_modules, so the output declares ESM itself.
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
  const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { timeout: 120_000 });
  return (entry) => join(out, relative(root, entry)).replace(/\.ts$/, '.js');
}
