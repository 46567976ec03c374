/** A pending callback in a {@link Scheduler}. */
export interface ScheduledTask {
  /** When it runs (ms, `performance.now()` time base). */
  readonly at: number;
  /** Position in the heap; -1 once it ran or was cancelled; -2 while due in the running wake-up. */
  index: number;
  readonly run: () => void;
}

/** The longest delay a Node timer honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** {@link ScheduledTask.index} of a task taken out of the heap to run in the current wake-up. */
const DUE = -2;

/**
 * One timer for a whole process's worth of chats. Heartbeats, token refreshes, rotations and subscribe
 * retries of every session are tasks in a min-heap; a single Node timer is armed for the earliest one.
 * Tasks due within `batchMs` of each other run in one wake-up, which is what keeps 10 000 idle chats cheap.
 * When no task is pending, no timer is armed, so an idle process holds no timer handle at all.
 */
export class Scheduler {
  private readonly heap: ScheduledTask[] = [];
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Number.POSITIVE_INFINITY;
  /** The tasks of the running wake-up (reused, so a wake-up allocates nothing). */
  private readonly due: ScheduledTask[] = [];
  /** While tasks run: the time of this wake-up, which they share as "now". */
  private wokeAt: number | undefined;

  constructor(
    /** Tasks due this close to the earliest one run in the same wake-up. */
    private readonly batchMs = 5,
  ) {}

  /** Number of pending tasks. */
  get size(): number {
    return this.heap.length;
  }

  /**
   * The current time on the scheduler's clock (`performance.now()`). Inside a task it is the time of the
   * wake-up that runs the task: thousands of heartbeats in one wake-up then read the clock once, not once each
   * (on Node 20 every `performance.now()` allocates), at the price of delays computed up to one wake-up's run
   * time early.
   */
  now(): number {
    return this.wokeAt ?? performance.now();
  }

  /** Runs `run` after `delayMs`. */
  schedule(delayMs: number, run: () => void): ScheduledTask {
    const task: ScheduledTask = {
      at: this.now() + clampDelay(delayMs),
      index: this.heap.length,
      run,
    };
    this.heap.push(task);
    this.up(task.index);
    this.arm();
    return task;
  }

  /**
   * Runs `task` again `delayMs` from now, whether it is still pending (it moves), already ran or was cancelled.
   * The task object is reused, so a periodic task allocates nothing per period: a fresh task (and closure) per
   * heartbeat is garbage that lives a whole interval, long enough to be promoted to V8's old generation, which
   * then needs more frequent full collections (bench/held-chats.ts).
   */
  reschedule(task: ScheduledTask, delayMs: number): void {
    (task as { at: number }).at = this.now() + clampDelay(delayMs);
    if (task.index < 0) {
      task.index = this.heap.length;
      this.heap.push(task);
    }
    this.down(task.index);
    this.up(task.index);
    this.arm();
  }

  /**
   * Moves `task` to `delayMs` from now when there is one (see {@link reschedule}), else schedules `run`: one task
   * object per purpose for a session's whole life. `task`, when given, must have been made with this `run`.
   */
  scheduleOrMove(task: ScheduledTask | undefined, delayMs: number, run: () => void): ScheduledTask {
    if (!task) return this.schedule(delayMs, run);
    this.reschedule(task, delayMs);
    return task;
  }

  /** Cancels a task; harmless if it already ran or was cancelled. */
  cancel(task: ScheduledTask | undefined): void {
    if (!task || task.index < 0) {
      if (task?.index === DUE) task.index = -1;
      return;
    }
    const last = this.heap.pop()!;
    if (last !== task) {
      this.heap[task.index] = last;
      last.index = task.index;
      this.down(last.index);
      this.up(last.index);
    }
    task.index = -1;
    if (this.heap.length === 0) this.disarm();
  }

  /** Cancels everything. */
  clear(): void {
    for (const task of this.heap) task.index = -1;
    for (const task of this.due) task.index = -1; // due in the running wake-up, not run yet
    this.heap.length = 0;
    this.disarm();
  }

  private arm(): void {
    // Tasks rescheduled while a wake-up runs are armed for once, when it ends.
    if (this.wokeAt !== undefined) return;
    const first = this.heap[0];
    if (!first || first.at >= this.armedFor) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = first.at;
    // Node fires a timer longer than 2^31 - 1 ms after 1 ms: a later task is woken for early, and re-armed.
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, first.at - performance.now()));
    this.timer = setTimeout(() => this.fire(), delay);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    this.wokeAt = performance.now();
    const horizon = this.wokeAt + this.batchMs;
    // Take the due tasks out first: a task (re)scheduled by another while this wake-up runs waits for the next
    // one, so a task that reschedules itself with a short delay cannot keep this loop going.
    const due = this.due;
    while (this.heap.length > 0 && this.heap[0]!.at <= horizon) {
      const task = this.heap[0]!;
      this.cancel(task);
      task.index = DUE;
      due.push(task);
    }
    try {
      for (const task of due) {
        if (task.index !== DUE) continue; // cancelled or rescheduled by a task before it
        task.index = -1;
        try {
          task.run();
        } catch (error) {
          // A task's failure must not stop the others; surface it asynchronously like a timer callback would.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    } finally {
      due.length = 0;
      this.wokeAt = undefined;
    }
    this.arm();
  }

  private up(index: number): void {
    const heap = this.heap;
    const task = heap[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (parent.at <= task.at) break;
      heap[index] = parent;
      parent.index = index;
      index = parentIndex;
    }
    heap[index] = task;
    task.index = index;
  }

  private down(index: number): void {
    const heap = this.heap;
    const task = heap[index]!;
    const length = heap.length;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && heap[right]!.at < heap[left]!.at ? right : left;
      if (heap[child]!.at >= task.at) break;
      heap[index] = heap[child]!;
      heap[index]!.index = index;
      index = child;
    }
    heap[index] = task;
    task.index = index;
  }
}

/**
 * `delayMs`, lengthened by less than `gridMs` so that the task falls due on a multiple of `gridMs` (on the
 * `performance.now()` clock). Periodic tasks of many chats aligned this way fall due together and run in one
 * {@link Scheduler} wake-up, instead of one wake-up each.
 */
export function alignedDelay(delayMs: number, gridMs: number, now = performance.now()): number {
  if (!(gridMs > 0 && gridMs < Number.POSITIVE_INFINITY)) return delayMs;
  const rest = (now + delayMs) % gridMs;
  return rest === 0 ? delayMs : delayMs + gridMs - rest;
}

/** The process-wide scheduler that sessions share unless given their own. */
export const sharedScheduler = new Scheduler();

/** A delay as setTimeout takes it: below 0, and NaN, are 0 (a NaN deadline would stall the whole heap). */
function clampDelay(delayMs: number): number {
  return Number.isNaN(delayMs) ? 0 : Math.max(0, delayMs);
}
