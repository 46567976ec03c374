/**
 * The part of a held-chats child that does not depend on how chats are held: memory after GC, CPU over an
 * idle window, bounded-concurrency opening, and the inbound-latency recorder. `ours-process.ts` and
 * `floor-process.ts` plug their way of opening a chat into {@link heldChatsApi}.
 */
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Committed and used bytes per V8 heap space (new_space, old_space, ...). */
  spaces: Record<string, { size: number; used: number }>;
}

export interface CpuSample {
  /** User + system CPU time, µs. */
  cpuUs: number;
  userUs: number;
  systemUs: number;
  wallMs: number;
}

export interface OpenResult {
  opened: number;
  failed: number;
  ms: number;
  firstError?: string;
}

/** Garbage collections the main thread saw during a window, and their pauses (PerformanceObserver 'gc'). */
export interface GcSample {
  minor: number;
  minorMs: number;
  /** Mark-compacts (and incremental-marking steps reported as their own entries). */
  major: number;
  majorMs: number;
}

/**
 * Counts GC pauses while running. A window's CPU per message swings by several µs with whether a mark-compact
 * fell in it, so each window records them.
 */
class GcCounter {
  private sample: GcSample = { minor: 0, minorMs: 0, major: 0, majorMs: 0 };
  private readonly observer = new PerformanceObserver((list) => this.count(list.getEntries()));

  start(): void {
    this.sample = { minor: 0, minorMs: 0, major: 0, majorMs: 0 };
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop(): GcSample {
    // Entries are delivered asynchronously; those still queued belong to this window.
    this.count(this.observer.takeRecords());
    this.observer.disconnect();
    return this.sample;
  }

  private count(entries: PerformanceEntry[]): void {
    for (const entry of entries) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        this.sample.minor++;
        this.sample.minorMs += entry.duration;
      } else if (
        kind === constants.NODE_PERFORMANCE_GC_MAJOR ||
        kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL
      ) {
        this.sample.major++;
        this.sample.majorMs += entry.duration;
      }
    }
  }
}

export interface LoadResult extends CpuSample {
  gc: GcSample;
  received: number;
  /** Receipt time of the first and last load message, ms (performance.timeOrigin + now). */
  firstAt: number;
  lastAt: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Full GCs with turns of the event loop between them (weak callbacks and finalizers run in between). */
export async function collect(): Promise<void> {
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export async function memory(): Promise<MemorySample> {
  await collect();
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  const spaces: MemorySample['spaces'] = {};
  for (const space of v8.getHeapSpaceStatistics())
    spaces[space.space_name] = { size: space.space_size, used: space.space_used_size };
  return { rss, heapUsed, heapTotal, external, arrayBuffers, spaces };
}

/** The young generation's committed size once the memory reducer has run (its minimum is 1 MB). */
const SETTLED_YOUNG_MB = 2;

/**
 * Waits until V8's memory reducer has shrunk the heap after a burst of allocation (start-up, opening chats, a
 * forced GC), or `maxMs` passes. The reducer runs 8–30 s after such a burst; its GCs cost tens of ms and it
 * shrinks the young generation from up to ~32 MB to ~1 MB, so a CPU window or an RSS sample taken before it ran
 * measures the transient, not the held chats. Returns how long it waited and whether the heap settled.
 */
export async function settle({ minMs, maxMs }: { minMs: number; maxMs: number }) {
  const started = performance.now();
  await sleep(minMs);
  const youngMB = () =>
    (v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0) /
    2 ** 20;
  while (youngMB() > SETTLED_YOUNG_MB && performance.now() - started < maxMs) await sleep(250);
  return { ms: performance.now() - started, settled: youngMB() <= SETTLED_YOUNG_MB };
}

/** Bounded wait for `check` to become true, asking every `everyMs`. */
export async function until(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs: number,
  everyMs = 250,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `open` over `items` with at most `concurrency` in flight; failures are counted, not thrown. */
export async function openAll<T>(
  items: readonly T[],
  concurrency: number,
  open: (item: T) => Promise<void>,
): Promise<OpenResult> {
  const started = performance.now();
  let next = 0;
  let opened = 0;
  let failed = 0;
  let firstError: string | undefined;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await open(item);
        opened++;
      } catch (error) {
        failed++;
        firstError ??= (error as Error)?.message ?? String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return { opened, failed, ms: performance.now() - started, ...(firstError ? { firstError } : {}) };
}

/**
 * Records the latency of load messages (`load <seq> <sentAt>`, see the emulator's LoadGenerator) into a
 * preallocated array, so recording allocates nothing per message.
 */
export class LatencyRecorder {
  private samples = new Float64Array(0);
  private count = 0;
  /** Messages with a latency sample (all but those counted by {@link LatencyRecorder.arrived}). */
  private sampled = 0;
  private firstAt = 0;
  private lastAt = 0;
  private target = Number.POSITIVE_INFINITY;
  private onTarget: (() => void) | undefined;

  reset(expected: number): void {
    this.samples = new Float64Array(Math.max(1, expected));
    this.count = 0;
    this.sampled = 0;
    this.firstAt = 0;
    this.lastAt = 0;
  }

  get received(): number {
    return this.count;
  }

  /** Resolves once `count` messages have arrived since the last reset (at once if they have). */
  reached(count: number, timeoutMs: number): Promise<void> {
    if (this.count >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.onTarget = undefined;
        this.target = Number.POSITIVE_INFINITY;
        reject(new Error(`${this.count} of ${count} messages arrived in ${timeoutMs} ms`));
      }, timeoutMs);
      this.target = count;
      this.onTarget = () => {
        clearTimeout(timer);
        this.onTarget = undefined;
        this.target = Number.POSITIVE_INFINITY;
        resolve();
      };
    });
  }

  /** Call at the moment the message "event" happens, with the message content. */
  record(content: string | undefined): void {
    if (content === undefined || !content.startsWith('load ')) return;
    const now = performance.timeOrigin + performance.now();
    const sentAt = Number(content.slice(content.lastIndexOf(' ') + 1));
    if (this.sampled < this.samples.length) this.samples[this.sampled++] = now - sentAt;
    this.arrived(now);
  }

  /** A load message arrived that the client did not decode (bench/raw-process.ts): counted, no latency. */
  arrived(now = performance.timeOrigin + performance.now()): void {
    if (this.count === 0) this.firstAt = now;
    this.lastAt = now;
    if (++this.count === this.target) this.onTarget?.();
  }

  summary(): Omit<LoadResult, keyof CpuSample | 'gc'> {
    const n = this.sampled;
    const sorted = this.samples.slice(0, n).sort();
    // Nearest rank: the smallest sample with at least q of them at or below it.
    const at = (q: number) => (n === 0 ? Number.NaN : sorted[Math.max(0, Math.ceil(q * n) - 1)]!);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i]!;
    return {
      received: this.count,
      firstAt: this.firstAt,
      lastAt: this.lastAt,
      latencyMs: {
        p50: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
        max: n ? sorted[n - 1]! : Number.NaN,
        mean: sum / n,
      },
    };
  }
}

/** How a child holds chats: `T` is what the orchestrator hands it per chat (a contact id, or a socket URL). */
export interface Holder<T> {
  /** Opens one chat and routes its inbound messages to `recorder.record(content)`. */
  open(target: T, recorder: LatencyRecorder): Promise<void>;
  /** Chats still open and healthy. */
  alive(): number;
  /** Releases every chat without waiting. */
  closeAll(): void;
}

/** The commands every held-chats child serves (see bench/held-chats.ts for the order they run in). */
export function heldChatsApi<T>(holder: Holder<T>) {
  const recorder = new LatencyRecorder();
  const gcs = new GcCounter();
  let load: { cpu: NodeJS.CpuUsage; started: number } | undefined;
  return {
    /** Opens a few chats and releases them, so one-time lazy initialisation is not counted per chat. */
    warmup: async ({ targets, concurrency }: { targets: T[]; concurrency: number }) => {
      const result = await openAll(targets, concurrency, (t) => holder.open(t, recorder));
      holder.closeAll();
      await sleep(500);
      return result;
    },
    memory: () => memory(),
    settle,
    open: ({ targets, concurrency }: { targets: T[]; concurrency: number }) =>
      openAll(targets, concurrency, (t) => holder.open(t, recorder)),
    /** CPU used while the process does nothing but hold its chats for `ms`. */
    idle: async ({ ms }: { ms: number }): Promise<CpuSample> => {
      const cpu = process.cpuUsage();
      const started = performance.now();
      await sleep(ms);
      const used = process.cpuUsage(cpu);
      const wallMs = performance.now() - started;
      return { cpuUs: used.user + used.system, userUs: used.user, systemUs: used.system, wallMs };
    },
    alive: () => holder.alive(),
    loadBegin: ({ expected }: { expected: number }) => {
      recorder.reset(expected);
      gcs.start();
      load = { cpu: process.cpuUsage(), started: performance.now() };
    },
    loadProgress: () => recorder.received,
    /** Resolves once `count` load messages have arrived: one call instead of polling loadProgress. */
    loadReached: ({ count, timeoutMs }: { count: number; timeoutMs: number }) =>
      recorder.reached(count, timeoutMs),
    loadEnd: (): LoadResult => {
      if (!load) throw new Error('loadBegin first');
      const used = process.cpuUsage(load.cpu);
      const wallMs = performance.now() - load.started;
      load = undefined;
      return {
        ...recorder.summary(),
        gc: gcs.stop(),
        cpuUs: used.user + used.system,
        userUs: used.user,
        systemUs: used.system,
        wallMs,
      };
    },
    close: () => {
      holder.closeAll();
      setTimeout(() => process.exit(0), 200).unref();
    },
  };
}

export type HeldChatsApi<T> = ReturnType<typeof heldChatsApi<T>>;
