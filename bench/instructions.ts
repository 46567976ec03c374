/**
 * Instructions per inbound message, counted rather than timed: each client runs under valgrind's callgrind,
 * which counts the instructions the process executes in user space (every thread: the main thread, V8's
 * compiler threads, libuv's), whatever else the machine is doing. CPU seconds on this machine wander by more
 * than the differences between clients; a count does not, and it is the same on any x86-64 machine for the same
 * binary and input, so it carries the comparison to another machine: the issue's bare-`ws` floor needed 8.5 µs
 * per message on its machine, so a client at r× the floor's instructions would need about 8.5·r µs there.
 *
 *   npm run bench:instructions                     raw, floor and ours, 200 chats each, ~20 minutes
 *   options: --n (chats, 200), --rate (msg/s of the full window, 200), --window-s (40), --windows (3),
 *            --sides (raw,floor,ours)
 *
 * Per side: the client opens its chats under callgrind; full collections; a warm-up load (not counted)
 * lets V8 tier up the message path. Then each pair of windows, of the same length: a light one at a quarter of
 * the rate and a full one at the rate, each counted from zero by callgrind_control until its last message has
 * arrived. Per message = (full − light) / (messages of full − messages of light): what holding the chats costs
 * over the window (heartbeats, timers, V8's own idle work) is in both and cancels, without an idle window of
 * its own (which caught whatever V8 did in the background just then). The median over the pairs is reported,
 * on the main thread (what a message costs where it is handled) and in all threads (V8's compiler threads add
 * bursts that the pairs do not always cancel). V8 collects garbage on the main thread here
 * (`--single-threaded-gc`): valgrind runs one thread at a time, so parallel GC helpers would spin waiting for
 * each other, and the spinning would be counted. And without its memory reducer (`--no-memory-reducer`), which
 * starts full collections when little is allocated per second of wall time, as always under valgrind. The rate is low because a client runs 30–60× slower under
 * valgrind; a message still arrives alone on its socket, as at 2,000 msg/s over 1,000 chats natively. Not
 * counted: the kernel's share (reads, epoll), the same per message for every client; and time: a count is not
 * a latency.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import type { EmulatorApi } from './emulator-process.js';
import { buildChildren } from './lib/build.js';
import { type HeldChatsApi, type LoadResult, sleep, until } from './lib/held.js';
import { Child } from './lib/ipc.js';
import { closeChildren } from './lib/paired.js';
import { fmt, median, wholeNumber } from './lib/report.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const run = promisify(execFile);

const SIDES = ['raw', 'floor', 'ours'] as const;
type Side = (typeof SIDES)[number];
/** The issue's figure for the bare-`ws` floor on its machine, µs per inbound message. */
const ISSUE_FLOOR_US = 8.5;

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '200' },
    rate: { type: 'string', default: '200' },
    'window-s': { type: 'string', default: '40' },
    windows: { type: 'string', default: '3' },
    sides: { type: 'string', default: SIDES.join(',') },
  },
});
const n = wholeNumber('n', values.n, 1, 1000);
const rate = wholeNumber('rate', values.rate, 1, 1000);
const windowMs = wholeNumber('window-s', values['window-s'], 4, 300) * 1000;
const windows = wholeNumber('windows', values.windows, 1, 10);
const sides = values.sides.split(',').map((side) => {
  if (!(SIDES as readonly string[]).includes(side)) throw new Error(`--sides: unknown side ${side}`);
  return side as Side;
});

function log(message: string): void {
  process.stderr.write(`[instructions ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** callgrind_control: `-z` zeroes the counters, `-e` prints them per thread. */
async function callgrind(pid: number, flag: '-z' | '-e'): Promise<string> {
  const { stdout } = await run('callgrind_control', [flag, String(pid)], { timeout: 60_000 });
  return stdout;
}

/**
 * The instructions counted since the last zero: in all, and on the main thread (thread 1); the others are V8's
 * helpers (concurrent marking, compilation) and libuv's (`Th N  1,234` lines of `-e`).
 */
async function counted(pid: number): Promise<{ total: number; main: number }> {
  let total = 0;
  let main = 0;
  let threads = 0;
  for (const match of (await callgrind(pid, '-e')).matchAll(/^\s*Th\s*(\d+)\s+([\d,]+)\s*$/gm)) {
    const count = Number(match[2]!.replaceAll(',', ''));
    total += count;
    if (match[1] === '1') main = count;
    threads++;
  }
  if (threads === 0) throw new Error(`callgrind_control -e ${pid}: no per-thread totals in its answer`);
  return { total, main };
}

async function requireValgrind(): Promise<void> {
  for (const tool of ['valgrind', 'callgrind_control']) {
    await run(tool, ['--version'], { timeout: 10_000 }).catch(() => {
      throw new Error(`${tool} is not installed (Debian: apt-get install -y valgrind)`);
    });
  }
}

/** Instructions, in all threads and on the main thread. */
interface Count {
  total: number;
  main: number;
}

interface SideResult {
  side: Side;
  /** Instructions per message, one per pair of windows. */
  perMessage: Count[];
}

async function measure(
  side: Side,
  script: string,
  emulator: Child<EmulatorApi>,
  info: { endpoint: string },
): Promise<SideResult> {
  const contactIds = await emulator.call('startChats', { count: n });
  const child = new Child<HeldChatsApi<string>>(side, script, side === 'ours' ? [JSON.stringify(info)] : [], {
    wrapper: ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null', '--quiet'],
    // No memory reducer: it starts full collections when the allocation rate per second of wall time is low,
    // and under valgrind every rate is low, so they would land in the windows at random.
    nodeArgs: ['--single-threaded-gc', '--no-memory-reducer'],
    readyMs: 300_000,
  });
  try {
    const pid = (await child.ready).pid;
    // The floor and raw clients open ready-made websocket URLs (valid 100 s), made just before they open.
    const targets = side === 'ours' ? contactIds : await emulator.call('connectBots', { contactIds });
    const open = await child.call('open', { targets, concurrency: 20 }, 900_000);
    if (open.failed > 0) throw new Error(`${side}: ${open.failed} chats failed to open: ${open.firstError}`);
    log(`${side}: ${open.opened} chats open under callgrind in ${fmt(open.ms / 1000, 1)} s`);

    /** One load window of `windowMs` at `perSecond`, counted from zero until its last message arrived. */
    const loadWindow = async (
      perSecond: number,
    ): Promise<{ received: number; count: Count; gc: LoadResult['gc'] }> => {
      await callgrind(pid, '-z');
      await child.call('loadBegin', { expected: Math.ceil((perSecond * windowMs) / 1000) });
      const started = await fetch(`${info.endpoint}/_emulator/load`, {
        method: 'POST',
        body: JSON.stringify({ ratePerSecond: perSecond, durationMs: windowMs, tickMs: 5 }),
        headers: { 'content-type': 'application/json' },
      });
      if (!started.ok) throw new Error(`load: ${started.status} ${await started.text()}`);
      let sent = 0;
      await until(
        async () => {
          const status = (await (await fetch(`${info.endpoint}/_emulator/load`)).json()) as {
            running: boolean;
            sent: number;
          };
          sent = status.sent;
          return !status.running;
        },
        'the emulator to finish the load',
        windowMs + 60_000,
        200,
      );
      // One call that returns when the last message has arrived, rather than polling the counted process.
      await child.call('loadReached', { count: sent, timeoutMs: 120_000 }, 130_000);
      const count = await counted(pid);
      const result = await child.call('loadEnd', undefined);
      return { received: result.received, count, gc: result.gc };
    };

    await child.call('memory', undefined, 300_000); // full collections after the burst of opening
    await loadWindow(rate); // V8 tiers the message path up here, not in a counted window
    // ...and finishes its compiles on V8's compiler threads, 30-60x slower under valgrind.
    await sleep(15_000);

    const result: SideResult = { side, perMessage: [] };
    const light = Math.max(1, Math.round(rate / 4));
    for (let w = 1; w <= windows; w++) {
      const low = await loadWindow(light);
      const high = await loadWindow(rate);
      const messages = high.received - low.received;
      const per = {
        total: (high.count.total - low.count.total) / messages,
        main: (high.count.main - low.count.main) / messages,
      };
      result.perMessage.push(per);
      log(
        `${side} pair ${w}: ${low.received} and ${high.received} messages; per message ${fmt(per.main / 1000, 1)} k ` +
          `on the main thread, ${fmt(per.total / 1000, 1)} k in all (major GCs: ${low.gc.major} / ${high.gc.major})`,
      );
    }
    return result;
  } finally {
    await closeChildren([child]);
    await emulator.call('endChats', { contactIds }).catch(() => {});
  }
}

async function main(): Promise<void> {
  await requireValgrind();
  log('compiling');
  const entry = (file: string) => join(root, 'bench', file);
  const script = await buildChildren(
    root,
    ['ours-process.ts', 'floor-process.ts', 'raw-process.ts', 'emulator-process.ts'].map(entry),
  );
  const emulator = new Child<EmulatorApi>('emulator', script(entry('emulator-process.ts')));
  const results: SideResult[] = [];
  try {
    await emulator.ready;
    const info = await emulator.call('info', undefined);
    for (const side of sides)
      results.push(await measure(side, script(entry(`${side}-process.ts`)), emulator, info));
  } finally {
    await emulator.stop();
  }

  const floor = results.find((r) => r.side === 'floor');
  const per = (r: SideResult, of: keyof Count) => median(r.perMessage.map((count) => count[of]));
  console.log(
    `Instructions per inbound message (callgrind, user space, ${n} chats, ${windows} pairs of ${windowMs / 1000} s ` +
      `windows at ${Math.max(1, Math.round(rate / 4))} and ${rate} msg/s; medians):`,
  );
  console.log(
    'side     main thread   all threads   main / floor   all / floor   at the floor’s 8.5 µs (main)',
  );
  for (const r of results) {
    const ratio = (of: keyof Count) => (floor ? per(r, of) / per(floor, of) : Number.NaN);
    console.log(
      [
        r.side.padEnd(6),
        `${fmt(per(r, 'main') / 1000, 1)}k`.padStart(13),
        `${fmt(per(r, 'total') / 1000, 1)}k`.padStart(13),
        fmt(ratio('main'), 3).padStart(14),
        fmt(ratio('total'), 3).padStart(13),
        `${fmt(ISSUE_FLOOR_US * ratio('main'), 1)} µs`.padStart(14),
      ].join(' '),
    );
  }
}

main().catch((error: unknown) => {
  log(`failed: ${(error as Error)?.stack ?? String(error)}`);
  process.exit(1);
});
