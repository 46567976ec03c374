import type { CpuSample, LoadResult, MemorySample, OpenResult } from './held.js';

export type Kind = 'ours' | 'floor';

/** Everything measured for one kind of client at one N. */
export interface RunResult {
  kind: Kind;
  n: number;
  open: OpenResult;
  /** After forced GC: before opening (after warm-up), and after the idle window. */
  memory: { baseline: MemorySample; settled: MemorySample };
  /** (settled − baseline) / N, in KB (1024 B). */
  perChatKB: {
    rss: number;
    /** RSS without the growth of V8's young-generation capacity, a per-process cost V8 sizes by its own rules. */
    rssExclYoung: number;
    heapUsed: number;
    external: number;
  };
  /** Committed size of V8's young generation (new space) after the idle window, MB. */
  youngGenMB: number;
  idle: CpuSample & { pctOfCore: number; pctPer1000: number; pctFor10k: number };
  load: LoadResult & {
    sent: number;
    emulatorMsgPerSec: number;
    receivedMsgPerSec: number;
    cpuUsPerMsg: number;
    cpuUsPerMsgGross: number;
    /** Net CPU per message of every measured window, in the order they ran. */
    cpuUsPerMsgWindows: number[];
  };
  aliveAtEnd: number;
  /** The waits for the memory reducer before the baseline, the idle window and the load. */
  quiet: Array<{ ms: number; settled: boolean }>;
}

export interface Target {
  name: string;
  limit: string;
  check: (ours: RunResult, floor: RunResult) => { pass: boolean; value: string };
}

/** The targets (issue 4, "Benchmark"). */
export const TARGETS: Target[] = [
  {
    name: 'heap per chat',
    limit: '≤ 12 KB',
    check: (o) => ({ pass: o.perChatKB.heapUsed <= 12, value: `${fmt(o.perChatKB.heapUsed, 1)} KB` }),
  },
  {
    name: 'RSS per chat',
    limit: '≤ 1.5× floor',
    check: (o, f) => {
      // At small N the RSS growth of either side can drown in the allocator's noise.
      if (!(f.perChatKB.rss > 0)) return { pass: false, value: 'floor RSS growth not measurable' };
      if (!(o.perChatKB.rss > 0)) return { pass: false, value: 'our RSS growth not measurable' };
      const ratio = o.perChatKB.rss / f.perChatKB.rss;
      return { pass: ratio <= 1.5, value: `${fmt(ratio, 2)}×` };
    },
  },
  {
    name: 'idle CPU, 10,000 chats (linear from N)',
    limit: '≤ 5 % of a core',
    check: (o) => ({ pass: o.idle.pctFor10k <= 5, value: `${fmt(o.idle.pctFor10k, 2)} %` }),
  },
  {
    name: 'CPU per inbound message',
    limit: '≤ 10 µs',
    check: (o) => ({ pass: o.load.cpuUsPerMsg <= 10, value: `${fmt(o.load.cpuUsPerMsg, 1)} µs` }),
  },
  {
    // From the emulator's send, so it bounds the "inbound frame → message" from above.
    name: 'emulator send → message p99',
    limit: '≤ 5 ms',
    check: (o) => ({ pass: o.load.latencyMs.p99 <= 5, value: `${fmt(o.load.latencyMs.p99, 2)} ms` }),
  },
];

interface Row {
  label: string;
  value: (r: RunResult) => number;
  digits: number;
  /** A ratio makes no sense for counts that must simply match. */
  ratio?: boolean;
}

const ROWS: Row[] = [
  { label: 'join/open all N (s)', value: (r) => r.open.ms / 1000, digits: 2 },
  {
    label: 'process RSS before opening, after warm-up (MB)',
    value: (r) => r.memory.baseline.rss / 2 ** 20,
    digits: 1,
  },
  { label: 'RSS per chat after GC (KB)', value: (r) => r.perChatKB.rss, digits: 1 },
  { label: '  excl. V8 young-generation growth (KB)', value: (r) => r.perChatKB.rssExclYoung, digits: 1 },
  { label: '  V8 young generation, whole process (MB)', value: (r) => r.youngGenMB, digits: 0 },
  { label: 'heap per chat after GC (KB)', value: (r) => r.perChatKB.heapUsed, digits: 2 },
  { label: 'external per chat after GC (KB)', value: (r) => r.perChatKB.external, digits: 2 },
  { label: 'idle CPU, % of a core', value: (r) => r.idle.pctOfCore, digits: 3 },
  { label: 'idle CPU per 1,000 chats (%)', value: (r) => r.idle.pctPer1000, digits: 3 },
  { label: 'inbound latency p50 (ms)', value: (r) => r.load.latencyMs.p50, digits: 3 },
  { label: 'inbound latency p99 (ms)', value: (r) => r.load.latencyMs.p99, digits: 3 },
  { label: 'inbound latency max (ms)', value: (r) => r.load.latencyMs.max, digits: 2 },
  { label: 'received msg/s', value: (r) => r.load.receivedMsgPerSec, digits: 0 },
  { label: 'CPU per inbound msg, net of idle (µs)', value: (r) => r.load.cpuUsPerMsg, digits: 2 },
  { label: 'CPU per inbound msg, gross (µs)', value: (r) => r.load.cpuUsPerMsgGross, digits: 2 },
  { label: 'messages received / sent', value: (r) => r.load.received / r.load.sent, digits: 4, ratio: false },
  { label: 'chats alive at end / N', value: (r) => r.aliveAtEnd / r.n, digits: 4, ratio: false },
];

/** The middle value (the lower of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
}

/** A command-line option's value as a whole number in `min..max`, or an error naming the option. */
export function wholeNumber(option: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!(Number.isInteger(value) && value >= min && value <= max))
    throw new Error(`--${option}: a whole number, ${min}..${max}`);
  return value;
}

export function fmt(value: number, digits: number): string {
  if (!Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** The side-by-side table: per N, ours, floor and ours/floor. */
export function table(pairs: Array<{ n: number; ours: RunResult; floor: RunResult }>): string {
  const labelWidth = Math.max(...ROWS.map((r) => r.label.length)) + 2;
  const col = 11;
  const pad = (s: string, w = col) => s.padStart(w);
  const lines: string[] = [];
  lines.push(
    ''.padEnd(labelWidth) +
      pairs
        .map(({ n }) => `N = ${fmt(n, 0)}`.padStart(Math.floor(col * 1.5) + 5).padEnd(col * 3 + 2))
        .join(''),
  );
  lines.push(
    ''.padEnd(labelWidth) + pairs.map(() => pad('ours') + pad('floor') + pad('ours/floor') + '  ').join(''),
  );
  for (const row of ROWS) {
    let line = row.label.padEnd(labelWidth);
    for (const { ours, floor } of pairs) {
      const o = row.value(ours);
      const f = row.value(floor);
      // A ratio of two growths means nothing when either is not one (allocator noise at small N).
      const ratio = row.ratio === false ? '' : o > 0 && f > 0 ? fmt(o / f, 2) : '–';
      line += pad(fmt(o, row.digits)) + pad(fmt(f, row.digits)) + pad(ratio) + '  ';
    }
    lines.push(line.trimEnd());
  }
  return lines.join('\n');
}

/** PASS/MISS per target and N. */
export function verdicts(pairs: Array<{ n: number; ours: RunResult; floor: RunResult }>) {
  return TARGETS.map((target) => ({
    target: `${target.name} ${target.limit}`,
    results: pairs.map(({ n, ours, floor }) => ({ n, ...target.check(ours, floor) })),
  }));
}

export function verdictTable(rows: ReturnType<typeof verdicts>): string {
  const width = Math.max(...rows.map((r) => r.target.length)) + 2;
  return rows
    .map(
      (row) =>
        row.target.padEnd(width) +
        row.results
          .map((r) => `${r.pass ? 'PASS' : 'MISS'} ${r.value} (N=${fmt(r.n, 0)})`.padEnd(30))
          .join(''),
    )
    .join('\n')
    .trimEnd();
}
