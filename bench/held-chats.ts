/**
 * The held-chats benchmark of issue 4: memory, idle CPU, join time and inbound latency/CPU for N held chats,
 * "ours" (ChatClient sessions) against a bare-`ws` "floor", each client kind alone in its own child process,
 * the emulator in a third. Then, per N, a paired phase: both clients at once, in the same load windows, for a
 * CPU ratio that the machine's drift from one window to the next does not move (lib/paired.ts).
 *
 *   npm run bench          N = 1,000 and 5,000; 60 s idle windows; 2,000 msg/s, 3 windows of 10 s alone and
 *                          5 paired (~14 min)
 *   npm run bench:smoke    N = 200; 10 s idle; 500 msg/s for 3 s, 1 paired window (~45 s); writes smoke.json
 *
 * Development aids: `--only ours|floor` and `--n 2000` run one side or other sizes (raw figures on stdout);
 * `--rate`, `--tick-ms`, `--idle-s`, `--load-s`, `--windows` and `--paired-windows` (0 skips the phase) change
 * the load shape and the windows; BENCH_NODE_FLAGS="--trace-gc-nvp" passes Node/V8 flags to the chat-holding
 * children.
 *
 * Prints a table with ours/floor ratios and PASS/MISS per target; writes bench/results/latest.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { EmulatorApi } from './emulator-process.js';
import { buildChildren } from './lib/build.js';
import { type GcSample, type HeldChatsApi, type LoadResult, sleep } from './lib/held.js';
import { Child, checkFdLimit } from './lib/ipc.js';
import { closeChildren, interleaved, loadWindow, openSides } from './lib/paired.js';
import {
  fmt,
  type Kind,
  median,
  type RunResult,
  table,
  verdicts,
  verdictTable,
  wholeNumber,
} from './lib/report.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Maps a child entry point to its compiled JavaScript (see buildChildren). */
let script: (entry: string) => string = (entry) => entry;

interface Plan {
  ns: number[];
  /**
   * Chats opened (as many in flight as `concurrency` allows) and released before the baseline, so one-time
   * costs are not counted per chat: lazy initialisation, the code V8 compiles once the join path is hot, and the
   * allocator's high-water mark from `concurrency` joins in flight. Those costs show in the baseline RSS row.
   */
  warmup: number;
  /** Joins (ours) or socket opens (floor) in flight at once. */
  concurrency: number;
  /**
   * Before the memory baseline, the idle window and the load, wait at least `minMs` (the SDK's keep-alive HTTP
   * sockets close after 5 s idle) and until V8's memory reducer has run (at most `maxMs`; see settle()).
   */
  quiet: { minMs: number; maxMs: number };
  /** Time between the quiet wait and the idle window: one heartbeat round. */
  warmMs: number;
  idleMs: number;
  loadRate: number;
  /** Wake-up interval of the emulator's send loop (each wake-up sends what is due). */
  loadTickMs: number;
  /** A short load run before the measured ones. */
  loadWarmMs: number;
  loadMs: number;
  /** Measured load windows per run; the one with the median CPU per message is reported. */
  loadWindows: number;
  /** Load windows of the paired phase: ours and the floor holding N chats each at the same time. */
  pairedWindows: number;
}

const FULL: Plan = {
  ns: [1000, 5000],
  warmup: 100,
  concurrency: 50,
  quiet: { minMs: 6000, maxMs: 40_000 },
  warmMs: 10_000,
  idleMs: 60_000,
  loadRate: 2000,
  loadTickMs: 5,
  loadWarmMs: 2000,
  loadMs: 10_000,
  loadWindows: 3,
  pairedWindows: 5,
};
/** A quick end-to-end check of the machinery; its memory and CPU figures are indicative only. */
const SMOKE: Plan = {
  ...FULL,
  ns: [200],
  quiet: { minMs: 1000, maxMs: 1000 },
  warmMs: 0,
  idleMs: 10_000,
  loadRate: 500,
  loadWarmMs: 500,
  loadMs: 3000,
  loadWindows: 1,
  pairedWindows: 1,
};

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    n: { type: 'string' },
    only: { type: 'string' },
    rate: { type: 'string' },
    'tick-ms': { type: 'string' },
    'idle-s': { type: 'string' },
    'load-s': { type: 'string' },
    windows: { type: 'string' },
    'paired-windows': { type: 'string' },
    warmup: { type: 'string' },
    out: { type: 'string' },
  },
});
const plan: Plan = { ...(values.smoke ? SMOKE : FULL) };
if (values.n) plan.ns = values.n.split(',').map((s) => Number.parseInt(s, 10));
if (plan.ns.some((n) => !Number.isInteger(n) || n < 1 || n > 10_000)) throw new Error('--n: 1..10000 each');
/** Development aids: other load shapes and shorter windows (results are not comparable with the defaults). */
function intOption(name: keyof typeof values, min: number, max: number): number | undefined {
  const raw = values[name];
  return typeof raw === 'string' ? wholeNumber(name, raw, min, max) : undefined;
}
plan.loadRate = intOption('rate', 1, 20_000) ?? plan.loadRate;
plan.loadTickMs = intOption('tick-ms', 1, 1000) ?? plan.loadTickMs;
plan.idleMs = (intOption('idle-s', 1, 600) ?? plan.idleMs / 1000) * 1000;
plan.loadMs = (intOption('load-s', 1, 120) ?? plan.loadMs / 1000) * 1000;
plan.loadWindows = intOption('windows', 1, 9) ?? plan.loadWindows;
plan.pairedWindows = intOption('paired-windows', 0, 9) ?? plan.pairedWindows;
plan.warmup = intOption('warmup', 0, 1000) ?? plan.warmup;

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/**
 * Has the emulator post `rate × durationMs` customer messages across the active chats and waits (bounded)
 * until the child has received them all; returns what the child measured over that window.
 */
async function inboundLoad(held: Child<HeldChatsApi<string>>, endpoint: string, durationMs: number) {
  const load = { ratePerSecond: plan.loadRate, durationMs, tickMs: plan.loadTickMs };
  const { results, status } = await loadWindow(endpoint, [held], load, log);
  return { load: results[0]!, status };
}

/** A fresh chat-holding child of one kind (ours joins through `info`'s emulator; the floor needs URLs). */
function spawnHolder(kind: Kind, info: { endpoint: string; region: string; instanceId: string }) {
  return kind === 'ours'
    ? new Child<HeldChatsApi<string>>('ours', script(join(here, 'ours-process.ts')), [JSON.stringify(info)])
    : new Child<HeldChatsApi<string>>('floor', script(join(here, 'floor-process.ts')));
}

/**
 * One client kind at one N, in a fresh child: warm up, baseline, open N, settle, memory, idle window,
 * memory again, then the inbound load.
 */
async function run(
  kind: Kind,
  n: number,
  emulator: Child<EmulatorApi>,
  info: { endpoint: string; region: string; instanceId: string },
): Promise<RunResult> {
  const contactIds = await emulator.call('startChats', { count: n + plan.warmup });
  // Ours joins by contact id through the real API path; the floor gets ready-made websocket URLs.
  const targets = kind === 'ours' ? contactIds : await emulator.call('connectBots', { contactIds });
  const held = spawnHolder(kind, info);
  try {
    checkFdLimit(kind, await held.ready, n);
    await held.call('warmup', { targets: targets.slice(0, plan.warmup), concurrency: plan.concurrency });
    await emulator.call('endChats', { contactIds: contactIds.slice(0, plan.warmup) });
    const quiet = [await held.call('settle', plan.quiet)];
    const baseline = await held.call('memory', undefined);
    log(`${kind} N=${n}: opening (${plan.concurrency} in flight)`);
    const open = await held.call(
      'open',
      { targets: targets.slice(plan.warmup), concurrency: plan.concurrency },
      300_000,
    );
    if (open.failed > 0) log(`${kind} N=${n}: ${open.failed} failed to open: ${open.firstError}`);
    log(`${kind} N=${n}: ${open.opened} open in ${fmt(open.ms / 1000, 2)} s`);
    quiet.push(await held.call('settle', plan.quiet));
    // One heartbeat round before the window, so it measures compiled code rather than V8 tiering up.
    await sleep(plan.warmMs);
    log(`${kind} N=${n}: idle window ${plan.idleMs / 1000} s`);
    const idle = await held.call('idle', { ms: plan.idleMs }, plan.idleMs + 30_000);
    const settled = await held.call('memory', undefined);

    // A short run first for the same reason: the message path has not run at all before the load.
    await inboundLoad(held, info.endpoint, plan.loadWarmMs);
    log(`${kind} N=${n}: inbound load ${plan.loadRate} msg/s, ${plan.loadWindows} × ${plan.loadMs / 1000} s`);
    const idleUsPerMs = idle.cpuUs / idle.wallMs;
    const netUsPerMsg = (load: LoadResult) => (load.cpuUs - idleUsPerMs * load.wallMs) / load.received;
    const windows: Array<Awaited<ReturnType<typeof inboundLoad>>> = [];
    for (let i = 0; i < plan.loadWindows; i++) {
      const window = await inboundLoad(held, info.endpoint, plan.loadMs);
      const { load: got, status: asked } = window;
      if (got.received < asked.sent) log(`${kind} N=${n}: received ${got.received} of ${asked.sent}`);
      windows.push(window);
    }
    // This machine's CPU figures wander from one window to the next; the median window is reported.
    const byCpu = [...windows].sort((a, b) => netUsPerMsg(a.load) - netUsPerMsg(b.load));
    const { load, status } = byCpu[Math.floor((byCpu.length - 1) / 2)]!;
    const aliveAtEnd = await held.call('alive', undefined);

    const pctOfCore = idleUsPerMs / 10; // µs per ms → % of one core
    const kb = (key: 'rss' | 'heapUsed' | 'external') => (settled[key] - baseline[key]) / n / 1024;
    const young = (sample: typeof baseline) => sample.spaces.new_space?.size ?? 0;
    const youngGrowth = young(settled) - young(baseline);
    const result: RunResult = {
      kind,
      n,
      open,
      memory: { baseline, settled },
      perChatKB: {
        rss: kb('rss'),
        rssExclYoung: kb('rss') - youngGrowth / n / 1024,
        heapUsed: kb('heapUsed'),
        external: kb('external'),
      },
      youngGenMB: young(settled) / 2 ** 20,
      idle: { ...idle, pctOfCore, pctPer1000: (pctOfCore * 1000) / n, pctFor10k: (pctOfCore * 10_000) / n },
      load: {
        ...load,
        sent: status.sent,
        emulatorMsgPerSec: (status.sent * 1000) / ((status.finishedAt ?? 0) - (status.startedAt ?? 0)),
        receivedMsgPerSec: (load.received * 1000) / Math.max(1, load.lastAt - load.firstAt),
        cpuUsPerMsgGross: load.cpuUs / load.received,
        cpuUsPerMsg: netUsPerMsg(load),
        cpuUsPerMsgWindows: windows.map((w) => netUsPerMsg(w.load)),
      },
      aliveAtEnd,
      quiet,
    };
    log(
      `${kind} N=${n}: rss ${fmt(result.perChatKB.rss, 1)} KB/chat, heap ${fmt(result.perChatKB.heapUsed, 2)} KB/chat, ` +
        `idle ${fmt(pctOfCore, 3)} % core, p99 ${fmt(load.latencyMs.p99, 2)} ms, ${fmt(result.load.cpuUsPerMsg, 2)} µs/msg`,
    );
    return result;
  } finally {
    await held.call('close', undefined, 5000).catch(() => {});
    await held.stop();
    await emulator.call('endChats', { contactIds });
  }
}

/** What the paired phase measured at one N: CPU per message net of each side's idle rate, per window. */
export interface PairedResult {
  n: number;
  /** Medians over the windows; `ratio` is the median of the per-window ratios. */
  ours: number;
  floor: number;
  ratio: number;
  windows: Array<{ ours: number; floor: number; received: [number, number]; gc: [GcSample, GcSample] }>;
}

/**
 * Ours and the floor holding N chats each at the same time, under one load that gives each of them the rate
 * of its own run (see lib/paired.ts for why). Each side's idle rate from its own run is subtracted, as there.
 */
async function paired(
  n: number,
  emulator: Child<EmulatorApi>,
  info: { endpoint: string; region: string; instanceId: string },
  idleUsPerMs: { ours: number; floor: number },
): Promise<PairedResult> {
  const contactIds = await emulator.call('startChats', { count: 2 * n });
  // Interleaved: the emulator's load goes round the chats in the order they started, so each side gets every
  // other message, its own rate throughout the window (halves would take turns at twice the rate).
  const [oursIds, floorIds] = interleaved(contactIds);
  const ours = spawnHolder('ours', info);
  const floor = spawnHolder('floor', info);
  try {
    await openSides(
      [
        { name: 'ours', child: ours, targets: async () => oursIds },
        {
          name: 'floor',
          child: floor,
          targets: () => emulator.call('connectBots', { contactIds: floorIds }),
        },
      ],
      n,
      plan.concurrency,
      (message) => log(`paired N=${n}: ${message}`),
    );
    await Promise.all(
      [ours, floor].map((child) => child.call('settle', plan.quiet, plan.quiet.maxMs + 30_000)),
    );
    const load = async (durationMs: number) =>
      (
        await loadWindow(info.endpoint, [ours, floor], {
          ratePerSecond: 2 * plan.loadRate,
          durationMs,
          tickMs: plan.loadTickMs,
        })
      ).results;
    await load(plan.loadWarmMs);
    log(`paired N=${n}: ${plan.pairedWindows} × ${plan.loadMs / 1000} s at ${plan.loadRate} msg/s each`);
    const net = (r: LoadResult, idle: number) => (r.cpuUs - idle * r.wallMs) / r.received;
    const windows: PairedResult['windows'] = [];
    for (let i = 0; i < plan.pairedWindows; i++) {
      const [o, f] = (await load(plan.loadMs)) as [LoadResult, LoadResult];
      windows.push({
        ours: net(o, idleUsPerMs.ours),
        floor: net(f, idleUsPerMs.floor),
        received: [o.received, f.received],
        gc: [o.gc, f.gc],
      });
    }
    const result = {
      n,
      ours: median(windows.map((w) => w.ours)),
      floor: median(windows.map((w) => w.floor)),
      ratio: median(windows.map((w) => w.ours / w.floor)),
      windows,
    };
    log(
      `paired N=${n}: ours ${fmt(result.ours, 2)} µs/msg, floor ${fmt(result.floor, 2)} µs/msg, ratio ${fmt(result.ratio, 2)}`,
    );
    return result;
  } finally {
    await closeChildren([ours, floor]);
    await emulator.call('endChats', { contactIds });
  }
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const budgetMs = 25 * 60_000;
  const watchdog = setTimeout(() => {
    log(`overall time limit of ${budgetMs / 60_000} min reached; stopping`);
    process.exit(1);
  }, budgetMs);
  watchdog.unref();

  const scripts = ['ours-process.ts', 'floor-process.ts', 'emulator-process.ts'].map((f) => join(here, f));
  log('compiling the child processes');
  script = await buildChildren(join(here, '..'), scripts);
  const emulator = new Child<EmulatorApi>('emulator', script(join(here, 'emulator-process.ts')));
  const emulatorReady = await emulator.ready;
  checkFdLimit('emulator', emulatorReady, 2 * Math.max(...plan.ns)); // the paired phase holds 2N
  const info = await emulator.call('info', undefined);
  log(`emulator at ${info.endpoint} (pid ${emulator.pid}); plan ${JSON.stringify(plan)}`);

  const pairs: Array<{ n: number; ours: RunResult; floor: RunResult; paired: PairedResult | undefined }> = [];
  try {
    for (const n of plan.ns) {
      const ours = values.only === 'floor' ? undefined : await run('ours', n, emulator, info);
      const floor = values.only === 'ours' ? undefined : await run('floor', n, emulator, info);
      if (!ours || !floor) {
        // --only: a development aid, no table; the raw figures go to stdout.
        process.stdout.write(`${JSON.stringify(ours ?? floor)}\n`);
        continue;
      }
      const idleUsPerMs = (r: RunResult) => r.idle.cpuUs / r.idle.wallMs;
      const pairedResult =
        plan.pairedWindows > 0
          ? await paired(n, emulator, info, { ours: idleUsPerMs(ours), floor: idleUsPerMs(floor) })
          : undefined;
      pairs.push({ n, ours, floor, paired: pairedResult });
    }
  } finally {
    await emulator.stop();
  }
  // --only runs have nothing to compare: no table, and bench/results/latest.json keeps the last full run.
  if (values.only) return;

  const rows = verdicts(pairs);
  const notes = [
    ...(values.smoke
      ? [
          'SMOKE RUN: short windows and no wait for V8 to settle; it checks the machinery, its figures are indicative only.',
        ]
      : []),
    `Memory: RSS and V8 heapUsed after forced GC, (after the ${plan.idleMs / 1000} s idle window − before opening) / N; the baseline is taken after ${plan.warmup} warm-up chats were opened (${plan.concurrency} in flight, as in the open phase) and released and V8's memory reducer has run, so one-time costs (lazy initialisation, code V8 compiles once the join path is hot, the allocator's high-water mark from that many joins in flight) are in the baseline row, not per chat. "excl. young-generation growth" subtracts the growth of V8's new space, which V8 sizes per process (1–32 MB) by its own heuristics.`,
    `Idle CPU: process.cpuUsage() of the chat-holding process over ${plan.idleMs / 1000} s with the real 10 s heartbeat (ours also sends aws/ping every 6th beat); the 10,000-chat figure is extrapolated linearly from N (CPU × 10,000 / N).`,
    'Join/open: ours = CreateParticipant + CreateParticipantConnection + websocket + subscribe ack + transcript positioning per chat; floor = websocket + subscribe ack only (its URLs are issued in the emulator process). Plain ws:// on loopback, no TLS.',
    'Latency: emulator timestamp taken just before the message is stored and pushed → message event in the client (ours: ChatSession "message"; floor: after the second JSON.parse). Includes emulator item building and JSON encoding, ws send, loopback TCP, ws frame parsing, decoding, de-duplication and event dispatch, and any event-loop queueing on both sides (all processes share the machine\'s cores).',
    `CPU per inbound message: process.cpuUsage() of the chat-holding process over a ${plan.loadMs / 1000} s load window (after a ${plan.loadWarmMs / 1000} s warm-up run), minus the idle rate for the same wall time, divided by messages received${plan.loadWindows > 1 ? `; of ${plan.loadWindows} windows in a row the median is reported (all are in latest.json), with that window's latency and throughput` : ''}. At ${plan.loadRate} msg/s spread over the chats nearly every message is its own socket read and event-loop wake-up.`,
    ...(plan.pairedWindows > 0
      ? [
          `Paired: ours and the floor hold N chats each at the same time, and one load of 2 × ${plan.loadRate} msg/s goes round-robin over both, so each gets its own run's rate. CPU per message as above, over the same ${plan.loadMs / 1000} s windows, each side's idle rate from its own run subtracted; ${plan.pairedWindows > 1 ? `median of ${plan.pairedWindows} windows, and the median of the per-window ratios` : 'one window'}. Two windows run one after the other differ by more than the two clients do; the same window does not. A mark-compact in one side's window still adds about 3 µs per message to it (the GC pauses of each window are in latest.json).`,
        ]
      : []),
  ];
  const output = {
    date: new Date().toISOString(),
    commit: gitCommit(),
    node: process.version,
    cpu: `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`,
    openFiles: emulatorReady.openFiles,
    plan,
    notes,
    results: pairs,
    targets: rows,
    durationS: (performance.now() - started) / 1000,
  };
  // A smoke run must not overwrite the last full run's figures.
  const out = values.out ?? join(here, 'results', values.smoke ? 'smoke.json' : 'latest.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(output, null, 2)}\n`);

  const print = (s = '') => process.stdout.write(`${s}\n`);
  print();
  print(`Held chats: ours (ChatClient) vs floor (bare ws) — ${output.cpu}, Node ${process.version}`);
  print();
  print(table(pairs));
  print();
  print('Targets (ours):');
  print(verdictTable(rows));
  print();
  for (const { paired: p } of pairs) {
    if (!p) continue;
    print(
      `Paired windows, N = ${fmt(p.n, 0)}: CPU per inbound message ours ${fmt(p.ours, 2)} µs, floor ${fmt(p.floor, 2)} µs, ` +
        `ours/floor ${fmt(p.ratio, 2)} (per window: ${p.windows.map((w) => fmt(w.ours / w.floor, 2)).join(' ')})`,
    );
  }
  print();
  for (const note of notes) print(`- ${note}`);
  print();
  print(`Wrote ${out} (${fmt(output.durationS, 0)} s)`);
}

main().catch((error: unknown) => {
  log(`failed: ${(error as Error)?.stack ?? String(error)}`);
  process.exit(1);
});
