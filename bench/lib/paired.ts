/**
 * Load windows, for one held-chats child or for a pair. In a paired window two children on one emulator share
 * one load, spread round-robin over the chats of both, and each measures its own CPU over the same wall-clock
 * window. Whatever else the machine does in that window (other tenants, the emulator's own bursts) falls on
 * both sides alike, so the ratio of the two is far steadier than the ratio of two windows run one after the
 * other. What still moves it is a mark-compact falling in one side's window and not the other's; every window
 * records its GC pauses (held.ts). */
import type { LoadStatus } from '../../src/emulator/index.js';
import { type HeldChatsApi, type LoadResult, until } from './held.js';
import { type Child, checkFdLimit } from './ipc.js';

/** One side of a paired run: its child, and the chats it holds (asked for just before it opens them). */
export interface PairedSide {
  name: string;
  child: Child<HeldChatsApi<string>>;
  targets: () => Promise<string[]>;
}

/**
 * Opens each side's `n` chats, one side after the other. A side's targets are fetched just before it opens them,
 * as websocket URLs from the emulator's connectBots are valid 100 s. Throws when a child's open-files limit is
 * too low or any chat failed to open.
 */
/**
 * Two sides' chats from one list, alternating (0, 2, 4... and 1, 3, 5...): the emulator's load goes round the chats
 * in the order they started, so each side gets every other message at its own rate, throughout the window.
 */
export function interleaved<T>(items: readonly T[]): [T[], T[]] {
  const first: T[] = [];
  const second: T[] = [];
  for (let i = 0; i < items.length; i++) (i % 2 === 0 ? first : second).push(items[i]!);
  return [first, second];
}

export async function openSides(
  sides: readonly PairedSide[],
  n: number,
  concurrency: number,
  log: (message: string) => void,
): Promise<void> {
  for (const { name, child, targets } of sides) {
    checkFdLimit(name, await child.ready, n);
    const open = await child.call('open', { targets: await targets(), concurrency }, 300_000);
    if (open.failed > 0) throw new Error(`${name}: ${open.failed} chats failed to open: ${open.firstError}`);
    log(`${name}: ${open.opened} chats open`);
  }
}

/** Releases each child's chats and stops it; after a failure too. */
export async function closeChildren(children: ReadonlyArray<Child<HeldChatsApi<string>>>): Promise<void> {
  for (const child of children) {
    await child.call('close', undefined, 5000).catch(() => {});
    await child.stop();
  }
}

export interface LoadShape {
  /** Messages per second over all the window's children together. */
  ratePerSecond: number;
  durationMs: number;
  tickMs: number;
}

/** The emulator's load control: starts a load (POST with a body) or reports it (GET). */
async function loadControl(endpoint: string, load?: LoadShape): Promise<LoadStatus> {
  const response = await fetch(`${endpoint}/_emulator/load`, {
    method: load ? 'POST' : 'GET',
    ...(load ? { body: JSON.stringify(load), headers: { 'content-type': 'application/json' } } : {}),
  });
  const json = (await response.json()) as LoadStatus & { message?: string };
  if (!response.ok) throw new Error(`load: ${response.status} ${json.message}`);
  return json;
}

/**
 * One load window over `children` (one, or the two of a pair; `endpoint` is the emulator's): the emulator sends
 * `ratePerSecond × durationMs` messages round-robin over their chats, and each child measures its own CPU.
 * Waits (bounded) until every message sent has arrived; when some never do, `onShort` is told and the window
 * ends with what arrived, or without `onShort` it throws. Returns the children's results in order and the
 * emulator's account of the load.
 */
export async function loadWindow(
  endpoint: string,
  children: ReadonlyArray<Child<HeldChatsApi<string>>>,
  load: LoadShape,
  onShort?: (message: string) => void,
): Promise<{ results: LoadResult[]; status: LoadStatus }> {
  const expected = Math.floor((load.ratePerSecond * load.durationMs) / 1000 / children.length);
  await Promise.all(children.map((child) => child.call('loadBegin', { expected })));
  let status = await loadControl(endpoint, load);
  await until(
    async () => {
      status = await loadControl(endpoint);
      return !status.running;
    },
    'the emulator to finish the load',
    load.durationMs + 30_000,
    100,
  );
  await until(
    async () => {
      const got = await Promise.all(children.map((child) => child.call('loadProgress', undefined)));
      return got.reduce((sum, count) => sum + count, 0) >= status.sent;
    },
    `${status.sent} messages to arrive`,
    30_000,
    50,
  ).catch((error: Error) => {
    if (!onShort) throw error;
    onShort(error.message);
  });
  return { results: await Promise.all(children.map((child) => child.call('loadEnd', undefined))), status };
}
