import { describe, expect, it } from 'vitest';
import { alignedDelay, Scheduler } from '../../src/transport/scheduler.js';

describe('Scheduler', () => {
  it('runs tasks in deadline order and supports cancellation', async () => {
    const scheduler = new Scheduler(0);
    const order: number[] = [];
    const done = new Promise<void>((resolve) => {
      for (const delay of [30, 10, 50, 20, 40]) scheduler.schedule(delay, () => order.push(delay));
      const cancelled = scheduler.schedule(25, () => order.push(25));
      scheduler.cancel(cancelled);
      scheduler.cancel(cancelled); // harmless twice
      scheduler.schedule(60, resolve);
    });
    await done;
    expect(order).toEqual([10, 20, 30, 40, 50]);
    expect(scheduler.size).toBe(0);
  });

  it('a NaN delay runs at once, as setTimeout would, and stalls no other task', async () => {
    const scheduler = new Scheduler(0);
    const ran: string[] = [];
    let moved: ReturnType<Scheduler['schedule']> | undefined;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000); // the bound; a stalled heap runs nothing
      scheduler.schedule(Number.NaN, () => ran.push('nan'));
      moved = scheduler.schedule(10_000, () => ran.push('moved'));
      scheduler.reschedule(moved, Number.NaN);
      scheduler.schedule(20, () => {
        ran.push('later');
        clearTimeout(timer);
        resolve();
      });
    });
    expect(ran.sort()).toEqual(['later', 'moved', 'nan']);
    expect(scheduler.size).toBe(0);
  });

  it('keeps the heap consistent under random schedule/cancel', () => {
    const scheduler = new Scheduler();
    const tasks = Array.from({ length: 500 }, (_, i) => scheduler.schedule((i * 7919) % 1000, () => {}));
    for (let i = 0; i < tasks.length; i += 3) scheduler.cancel(tasks[i]);
    const live = tasks.filter((t) => t.index >= 0);
    expect(scheduler.size).toBe(live.length);
    // Every live task knows its own position, and the heap property holds.
    const heap = (scheduler as unknown as { heap: Array<{ at: number; index: number }> }).heap;
    heap.forEach((task, i) => {
      expect(task.index).toBe(i);
      if (i > 0) expect(heap[(i - 1) >> 1]!.at).toBeLessThanOrEqual(task.at);
    });
    scheduler.clear();
    expect(scheduler.size).toBe(0);
  });

  it('batches tasks that fall due together into one wake-up', async () => {
    const scheduler = new Scheduler(20);
    const ran: number[] = [];
    await new Promise<void>((resolve) => {
      scheduler.schedule(10, () => ran.push(performance.now()));
      scheduler.schedule(25, () => {
        ran.push(performance.now());
        resolve();
      });
    });
    expect(ran[1]! - ran[0]!).toBeLessThan(5);
  });
});

describe('Scheduler.now', () => {
  it('is one time for every task of a wake-up, and the live clock outside one', async () => {
    const scheduler = new Scheduler(20);
    const seen: number[] = [];
    const before = scheduler.now();
    await new Promise<void>((resolve) => {
      scheduler.schedule(5, () => seen.push(scheduler.now()));
      scheduler.schedule(10, () => {
        // Busy for a moment, so a live clock would differ between the two tasks.
        const until = performance.now() + 2;
        while (performance.now() < until);
        seen.push(scheduler.now());
        resolve();
      });
    });
    expect(seen).toHaveLength(2);
    expect(seen[1]).toBe(seen[0]);
    expect(seen[0]!).toBeGreaterThan(before);
    expect(scheduler.now()).toBeGreaterThan(seen[0]! + 1);
  });

  it('arms the timer for tasks rescheduled inside a wake-up once it ends', async () => {
    const scheduler = new Scheduler(0);
    let runs = 0;
    await new Promise<void>((resolve) => {
      const task = scheduler.schedule(1, () => {
        if (++runs === 5) resolve();
        else scheduler.reschedule(task, 1);
      });
    });
    expect(runs).toBe(5);
    expect(scheduler.size).toBe(0);
  });
});

describe('Scheduler wake-ups', () => {
  it('runs a task that reschedules itself inside the batch window once per wake-up, not in a loop', async () => {
    const scheduler = new Scheduler(50);
    const wakes: number[] = [];
    await new Promise<void>((resolve) => {
      const task = scheduler.schedule(0, () => {
        wakes.push(scheduler.now());
        if (wakes.length === 3) resolve();
        else scheduler.reschedule(task, 0);
      });
    });
    expect(new Set(wakes).size).toBe(3);
  });

  it('does not run a due task that an earlier task of the same wake-up cancelled or moved', async () => {
    const scheduler = new Scheduler(20);
    const runs: string[] = [];
    await new Promise<void>((resolve) => {
      scheduler.schedule(1, () => {
        runs.push('first');
        scheduler.cancel(cancelled);
        scheduler.reschedule(moved, 30);
      });
      const cancelled = scheduler.schedule(2, () => runs.push('cancelled'));
      const moved = scheduler.schedule(3, () => {
        runs.push('moved');
        resolve();
      });
    });
    expect(runs).toEqual(['first', 'moved']);
  });

  it('does not run the rest of a wake-up after clear()', async () => {
    const scheduler = new Scheduler(20);
    const runs: string[] = [];
    await new Promise<void>((resolve) => {
      scheduler.schedule(1, () => {
        runs.push('first');
        scheduler.clear();
        setImmediate(resolve);
      });
      scheduler.schedule(2, () => runs.push('second'));
    });
    expect(runs).toEqual(['first']);
    expect(scheduler.size).toBe(0);
  });
});

describe('Scheduler.reschedule', () => {
  it('moves a pending task, re-adds one that ran or was cancelled, and reuses the object', async () => {
    const scheduler = new Scheduler(0);
    const runs: string[] = [];
    // Resolves once `runs` has `count` entries.
    let waiter: { count: number; resolve: () => void } | undefined;
    const ran = (name: string) => () => {
      runs.push(name);
      if (waiter && runs.length >= waiter.count) waiter.resolve();
    };
    const until = (count: number) => new Promise<void>((resolve) => (waiter = { count, resolve }));
    const a = scheduler.schedule(5, ran('a'));
    const b = scheduler.schedule(10, ran('b'));
    scheduler.reschedule(a, 30); // pending: moves behind b
    expect(scheduler.size).toBe(2);
    await until(2);
    expect(runs).toEqual(['b', 'a']);
    expect(scheduler.size).toBe(0);

    scheduler.reschedule(a, 5); // already ran: runs again, same object
    scheduler.cancel(b);
    scheduler.reschedule(b, 1); // cancelled earlier (ran): back in too
    const c = scheduler.schedule(20, ran('c'));
    scheduler.cancel(c);
    scheduler.reschedule(c, 10); // cancelled: back in
    expect(scheduler.size).toBe(3);
    await until(5);
    expect(runs).toEqual(['b', 'a', 'b', 'a', 'c']);
    expect(scheduler.size).toBe(0);
  });
});

describe('alignedDelay', () => {
  it('lengthens a delay by less than the grid so it falls due on a grid line', () => {
    expect(alignedDelay(10_000, 250, 1000)).toBe(10_000); // 11 000 is on the grid already
    expect(alignedDelay(10_000, 250, 1001)).toBe(10_249);
    expect(alignedDelay(10_000, 250, 1249.5)).toBe(10_000.5);
    for (const now of [0, 3.7, 123_456.789, 9_999_999.1]) {
      const delay = alignedDelay(10_000, 250, now);
      expect(delay).toBeGreaterThanOrEqual(10_000);
      expect(delay).toBeLessThan(10_250);
      const offGrid = (now + delay) % 250;
      expect(Math.min(offGrid, 250 - offGrid)).toBeLessThan(1e-6);
    }
  });

  it('leaves the delay alone without a positive grid', () => {
    expect(alignedDelay(300, 0, 17)).toBe(300);
    expect(alignedDelay(300, Number.NaN, 17)).toBe(300);
    expect(alignedDelay(300, Number.POSITIVE_INFINITY, 17)).toBe(300);
  });
});
