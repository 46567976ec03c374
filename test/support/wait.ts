import type { EventEmitter as NodeEmitter } from 'node:events';
import type { EventEmitter as EE3 } from 'eventemitter3';

/** Resolves when `check` returns a value other than undefined/false; fails after `timeoutMs` with `what`. */
export async function waitUntil<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The argument tuple of event `K`, for eventemitter3 and Node emitters with an event map; else `unknown[]`. */
type Args<E, K extends string> =
  E extends EE3<infer Events>
    ? K extends EE3.EventNames<Events>
      ? EE3.EventArgs<Events, K>
      : unknown[]
    : E extends NodeEmitter<infer Map>
      ? K extends keyof Map
        ? Map[K] extends unknown[]
          ? Map[K]
          : unknown[]
        : unknown[]
      : unknown[];

interface Emitter {
  // biome-ignore lint/suspicious/noExplicitAny: accepts Node's and eventemitter3's typed emitters alike
  on(event: any, listener: (...args: any[]) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  off(event: any, listener: (...args: any[]) => void): unknown;
}

/** Waits for an emitter event whose arguments satisfy `predicate`, with a timeout. */
export function nextEvent<E extends Emitter, K extends string>(
  emitter: E,
  event: K,
  predicate: (...args: Args<E, K>) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<Args<E, K>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for event "${event}"`));
    }, timeoutMs);
    const listener = (...args: unknown[]) => {
      if (!predicate(...(args as Args<E, K>))) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args as Args<E, K>);
    };
    emitter.on(event, listener);
  });
}
