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

describe('Scheduler.reschedule', () => {
  it('moves a pending task, re-adds one that ran or was cancelled, and reuses the object', async () => {
    const scheduler = new Scheduler(0);
    const runs: string[] = [];
    const a = scheduler.schedule(5, () => runs.push('a'));
    const b = scheduler.schedule(10, () => runs.push('b'));
    scheduler.reschedule(a, 30); // pending: moves behind b
    expect(scheduler.size).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(runs).toEqual(['b', 'a']);
    expect(scheduler.size).toBe(0);

    scheduler.reschedule(a, 5); // already ran: runs again, same object
    scheduler.cancel(b);
    scheduler.reschedule(b, 1); // cancelled earlier (ran): back in too
    const c = scheduler.schedule(20, () => runs.push('c'));
    scheduler.cancel(c);
    scheduler.reschedule(c, 10); // cancelled: back in
    expect(scheduler.size).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 40));
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
