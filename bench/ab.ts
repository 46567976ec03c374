/**
 * A/B of the message path's CPU cost: the working tree's session code against another commit's, both holding
 * chats at the same time on the same emulator. One load, spread round-robin over both processes' chats, so
 * whatever else the machine is doing falls on both sides of every window alike. bench/held-chats.ts runs its
 * clients one after the other, and this machine's CPU figures wander by more than most code changes are worth.
 *
 *   npm run bench:ab                          the working tree against HEAD
 *   npm run bench:ab -- --base main~3         ... against another commit
 *   npm run bench:ab -- --base floor          ... against the bare-ws floor (bench/floor-process.ts)
 *   npm run bench:ab -- --base raw            ... against a client that only reads its sockets (raw-process.ts)
 *   options: --n (chats per side, 1000), --rate (msg/s over both sides, 2000), --windows (8), --load-s (10),
 *            --idle-s (the idle window before the load, 20)
 *
 * Prints CPU per inbound message (process.cpuUsage over the window / messages received) for each side and
 * window, and the median of the per-window differences. The idle rate is not subtracted: both sides pay it in
 * the same window, and a separate idle measurement per side would add its own noise to the difference; the
 * idle % of each side is printed for reference. Against the floor this favours ours a little, as the floor's
 * idle (a timer per chat) costs more; bench/held-chats.ts's paired phase subtracts each side's idle rate from
 * its own 60 s run. The base commit is checked out in a temporary git worktree that borrows this tree's
 * node_modules; it is removed at the end.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { EmulatorApi } from './emulator-process.js';
import { buildChildren } from './lib/build.js';
import type { HeldChatsApi, LoadResult } from './lib/held.js';
import { Child, checkFdLimit } from './lib/ipc.js';
import { closeChildren, interleaved, loadWindow, openSides, type PairedSide } from './lib/paired.js';
import { fmt, median, wholeNumber } from './lib/report.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

const { values } = parseArgs({
  options: {
    base: { type: 'string', default: 'HEAD' },
    n: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '2000' },
    windows: { type: 'string', default: '8' },
    'load-s': { type: 'string', default: '10' },
    'idle-s': { type: 'string', default: '20' },
  },
});
const n = wholeNumber('n', values.n, 1, 5000);
const rate = wholeNumber('rate', values.rate, 1, 20_000);
const windows = wholeNumber('windows', values.windows, 1, 30);
const loadMs = wholeNumber('load-s', values['load-s'], 1, 120) * 1000;
const idleMs = wholeNumber('idle-s', values['idle-s'], 1, 120) * 1000;
/** `--base floor` or `--base raw`: a reference client of this tree instead of another commit's session code. */
const reference = values.base === 'floor' || values.base === 'raw' ? values.base : undefined;

function log(message: string): void {
  process.stderr.write(`[ab ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** A detached worktree of `rev` whose node_modules links to this tree's packages (not its build cache). */
function checkout(rev: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'connect-bot-ab-'));
  try {
    execFileSync('git', ['worktree', 'add', '--detach', '--quiet', dir, rev], {
      cwd: root,
      stdio: 'inherit',
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`--base ${rev}: cannot check it out (${(error as Error).message})`);
  }
  mkdirSync(join(dir, 'node_modules'));
  for (const entry of readdirSync(join(root, 'node_modules'))) {
    if (entry !== '.cache') symlinkSync(join(root, 'node_modules', entry), join(dir, 'node_modules', entry));
  }
  return dir;
}

function removeCheckout(dir: string): void {
  try {
    execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: root, stdio: 'ignore' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const baseDir = reference ? undefined : checkout(values.base);
  let sides: PairedSide[] = [];
  let emulator: Child<EmulatorApi> | undefined;
  try {
    log(reference ? 'compiling' : `compiling both trees (base ${values.base} in ${baseDir})`);
    const entry = (tree: string, file: string) => join(tree, 'bench', file);
    const [baseScript, workScript] = await Promise.all([
      baseDir ? buildChildren(baseDir, [entry(baseDir, 'ours-process.ts')]) : undefined,
      buildChildren(
        root,
        ['ours-process.ts', 'floor-process.ts', 'raw-process.ts', 'emulator-process.ts'].map((file) =>
          entry(root, file),
        ),
      ),
    ]);
    emulator = new Child<EmulatorApi>('emulator', workScript(entry(root, 'emulator-process.ts')));
    checkFdLimit('emulator', await emulator.ready, 2 * n);
    const info = await emulator.call('info', undefined);
    const contactIds = await emulator.call('startChats', { count: 2 * n });
    // Interleaved, so the load's round goes to both sides in turn (see held-chats.ts).
    const [baseTargets, workTargets] = interleaved(contactIds);
    sides = [
      reference
        ? {
            name: reference,
            child: new Child<HeldChatsApi<string>>(
              reference,
              workScript(entry(root, `${reference}-process.ts`)),
            ),
            // These open ready-made websocket URLs (valid 100 s), so they are made just before they open.
            targets: () => emulator!.call('connectBots', { contactIds: baseTargets }),
          }
        : {
            name: 'base',
            child: new Child<HeldChatsApi<string>>('ours', baseScript!(entry(baseDir!, 'ours-process.ts')), [
              JSON.stringify(info),
            ]),
            targets: async () => baseTargets,
          },
      {
        name: 'work',
        child: new Child<HeldChatsApi<string>>('ours', workScript(entry(root, 'ours-process.ts')), [
          JSON.stringify(info),
        ]),
        targets: async () => workTargets,
      },
    ];
    await openSides(sides, n, 50, log);
    await Promise.all(sides.map((side) => side.child.call('settle', { minMs: 6000, maxMs: 40_000 }, 60_000)));
    const idle = await Promise.all(
      sides.map((side) => side.child.call('idle', { ms: idleMs }, idleMs + 40_000)),
    );
    const idlePercent = idle.map((sample) => fmt(sample.cpuUs / sample.wallMs / 10, 3));

    const children = sides.map((side) => side.child);
    const load = async (durationMs: number) =>
      (await loadWindow(info.endpoint, children, { ratePerSecond: rate, durationMs, tickMs: 5 })).results;
    await load(2000); // the message path's first run: V8 tiers up here, not in a measured window
    const perMsg = (result: LoadResult) => result.cpuUs / result.received;
    const differences: number[] = [];
    const ratios: number[] = [];
    const base = sides[0]!;
    console.log(`CPU per inbound message, µs (${n} chats per side, ${rate} msg/s over both):`);
    console.log(
      `window  ${base.name.padStart(6)}    work  work − ${base.name}  work / ${base.name}  major GCs (pause ms): ${base.name} / work`,
    );
    const gcs = (r: LoadResult) => (r.gc ? `${r.gc.major} (${fmt(r.gc.majorMs, 1)})` : '?');
    for (let w = 1; w <= windows; w++) {
      const [a, b] = (await load(loadMs)) as [LoadResult, LoadResult];
      const baseUs = perMsg(a);
      const workUs = perMsg(b);
      differences.push(workUs - baseUs);
      ratios.push(workUs / baseUs);
      console.log(
        [
          String(w).padStart(6),
          fmt(baseUs, 2).padStart(7),
          fmt(workUs, 2).padStart(7),
          fmt(workUs - baseUs, 2).padStart(12),
          fmt(workUs / baseUs, 3).padStart(12),
          `  ${gcs(a)} / ${gcs(b)}`,
        ].join(' '),
      );
    }
    console.log(
      `median work − ${base.name}: ${fmt(median(differences), 2)} µs/msg ` +
        `(range ${fmt(Math.min(...differences), 2)} .. ${fmt(Math.max(...differences), 2)}); ` +
        `median work / ${base.name}: ${fmt(median(ratios), 3)}; ` +
        `idle % of a core: ${base.name} ${idlePercent[0]}, work ${idlePercent[1]}`,
    );
  } finally {
    await closeChildren(sides.map((side) => side.child));
    await emulator?.stop();
    if (baseDir) removeCheckout(baseDir);
  }
}

main().catch((error: unknown) => {
  log(`failed: ${(error as Error)?.message ?? String(error)}`);
  process.exit(1);
});
