/**
 * Instructions per inbound message, counted rather than timed: each client runs under valgrind's callgrind,
 * which counts the instructions the process executes in user space (every thread: the main thread, V8's
 * compiler and GC helpers, libuv's pool), whatever else the machine is doing. CPU seconds on this machine wander
 * by more than the differences between clients; a count does not, and it is the same on any x86-64 machine for
 * the same binary and input, so it carries the comparison to another machine: the issue's bare-`ws` floor needed
 * 8.5 µs per message on its machine, so a client at r× the floor's instructions would need about 8.5·r µs there.
 *
 *   npm run bench:instructions                     raw, floor and ours, 200 chats each, ~13 minutes
 *   options: --n (chats, 200), --rate (msg/s, 200), --messages (per window, 10000: 50 s, five heartbeat periods), --windows (3),
 *            --idle-s (the idle window subtracted, 20), --sides (raw,floor,ours)
 *
 * Per side: the client opens its chats under callgrind; a warm-up load (not counted) lets V8 tier up the message
 * path; an idle window gives the instructions per second the client spends holding its chats; then each load
 * window zeroes the counters, the emulator (native, its own process) sends `--messages` messages round-robin over
 * the chats at `--rate`, and the counters are read once all have arrived. Net = counted − idle rate × the
 * window's length, per message. The rate is low because the client runs 30–60× slower under valgrind; a message
 * still arrives alone on its socket, as at 2,000 msg/s over 1,000 chats natively. What is not counted: the
 * kernel's share (reads, epoll), which is the same per message for all three clients, and time: a count is not a
 * latency.
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
    messages: { type: 'string', default: '10000' },
    windows: { type: 'string', default: '3' },
    'idle-s': { type: 'string', default: '20' },
    sides: { type: 'string', default: SIDES.join(',') },
  },
});
const n = wholeNumber('n', values.n, 1, 1000);
const rate = wholeNumber('rate', values.rate, 1, 1000);
const messages = wholeNumber('messages', values.messages, rate, 50_000);
const windows = wholeNumber('windows', values.windows, 1, 10);
const idleMs = wholeNumber('idle-s', values['idle-s'], 1, 120) * 1000;
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
  /** Net instructions per message, one per window. */
  perMessage: Count[];
  /** Counted instructions per message before the idle rate is subtracted, one per window. */
  grossPerMessage: number[];
  idlePerSecond: Count;
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
    // valgrind runs one thread at a time, so V8's parallel GC helpers spin while they wait for each other, and
    // that spinning would be counted. Collections on the main thread count only their work.
    nodeArgs: ['--single-threaded-gc'],
    readyMs: 300_000,
  });
  try {
    const pid = (await child.ready).pid;
    // The floor and raw clients open ready-made websocket URLs (valid 100 s), made just before they open.
    const targets = side === 'ours' ? contactIds : await emulator.call('connectBots', { contactIds });
    const open = await child.call('open', { targets, concurrency: 20 }, 900_000);
    if (open.failed > 0) throw new Error(`${side}: ${open.failed} chats failed to open: ${open.firstError}`);
    log(`${side}: ${open.opened} chats open under callgrind in ${fmt(open.ms / 1000, 1)} s`);

    const loadWindow = async (count: number): Promise<{ received: number; gc: LoadResult['gc'] }> => {
      await child.call('loadBegin', { expected: count });
      const started = await fetch(`${info.endpoint}/_emulator/load`, {
        method: 'POST',
        body: JSON.stringify({ ratePerSecond: rate, durationMs: (count / rate) * 1000, tickMs: 5 }),
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
        (count / rate) * 1000 + 60_000,
        200,
      );
      // One call that returns when the last message has arrived, rather than polling the counted process.
      await child.call('loadReached', { count: sent, timeoutMs: 120_000 }, 130_000);
      const result = await child.call('loadEnd', undefined);
      return { received: result.received, gc: result.gc };
    };

    // V8's memory reducer runs some seconds after the burst of opening; its collections are not holding chats.
    await child.call('settle', { minMs: 6000, maxMs: 60_000 }, 120_000);
    await loadWindow(Math.min(messages, 4000)); // V8 tiers the message path up here, not in a counted window
    await sleep(2000); // and finishes its background compiles

    await callgrind(pid, '-z');
    const idleStarted = performance.now();
    await child.call('idle', { ms: idleMs }, idleMs + 60_000);
    const idle = await counted(pid);
    const idleMsTaken = performance.now() - idleStarted;
    const idlePerMs = { total: idle.total / idleMsTaken, main: idle.main / idleMsTaken };
    log(`${side}: idle ${fmt(idlePerMs.total / 1000, 2)} M instructions/s for ${n} chats`);

    const result: SideResult = {
      side,
      perMessage: [],
      grossPerMessage: [],
      idlePerSecond: { total: idlePerMs.total * 1000, main: idlePerMs.main * 1000 },
    };
    for (let w = 1; w <= windows; w++) {
      await callgrind(pid, '-z');
      const started = performance.now();
      const { received, gc } = await loadWindow(messages);
      const { total, main } = await counted(pid);
      const ms = performance.now() - started;
      const net = {
        total: (total - idlePerMs.total * ms) / received,
        main: (main - idlePerMs.main * ms) / received,
      };
      result.grossPerMessage.push(total / received);
      result.perMessage.push(net);
      log(
        `${side} window ${w}: ${received} messages; per message ${fmt(total / received / 1000, 1)} k gross, ` +
          `${fmt(net.total / 1000, 1)} k net, of which ${fmt(net.main / 1000, 1)} k on the main thread ` +
          `(GCs: ${gc.minor} minor, ${gc.major} major)`,
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
  const net = (r: SideResult, of: keyof Count) => median(r.perMessage.map((count) => count[of]));
  console.log(
    `Instructions per inbound message (callgrind, user space, ${n} chats, ${rate} msg/s, ${windows} windows of ` +
      `${messages}; medians; net of the idle rate):`,
  );
  console.log(
    'side       all threads   main thread   gross   idle M/s   all / floor   main / floor   at the floor’s 8.5 µs',
  );
  for (const r of results) {
    const ratio = (of: keyof Count) => (floor ? net(r, of) / net(floor, of) : Number.NaN);
    console.log(
      [
        r.side.padEnd(6),
        `${fmt(net(r, 'total') / 1000, 1)}k`.padStart(14),
        `${fmt(net(r, 'main') / 1000, 1)}k`.padStart(13),
        `${fmt(median(r.grossPerMessage) / 1000, 1)}k`.padStart(7),
        fmt(r.idlePerSecond.total / 1e6, 2).padStart(10),
        fmt(ratio('total'), 3).padStart(13),
        fmt(ratio('main'), 3).padStart(14),
        `${fmt(ISSUE_FLOOR_US * ratio('total'), 1)} µs`.padStart(22),
      ].join(' '),
    );
  }
}

main().catch((error: unknown) => {
  log(`failed: ${(error as Error)?.stack ?? String(error)}`);
  process.exit(1);
});
