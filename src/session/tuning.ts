import v8 from 'node:v8';

/** The old generation may grow to twice what survived the last full collection before the next one. */
const HEAP_GROWING_PERCENT = 100;

/**
 * Process-wide V8 settings for a process that holds many chats: no allocation-site pretenuring, and an old
 * generation that may grow to twice its live size between full collections. Call once, early, before the
 * first join; `connect-bot start` does (config `host.v8Tuning`).
 *
 * V8 moves an allocation site to "allocate straight into the old generation" when most of what it allocated
 * survived a young-generation collection. A burst of joins (many sessions opening at once, API calls in
 * flight) makes sites on the socket read path look long-lived, and the decision sticks: from then on every
 * inbound message leaves its short-lived objects in the old generation. In bench/held-chats.ts at 1,000 chats
 * and 2,000 msg/s that was 10× the promoted bytes, 5× the full collections and 8× the CPU on V8's helper
 * threads of the same process without the burst; with pretenuring off it goes back to the floor's figures.
 * The cost: objects that really are long-lived are copied once more before they reach the old generation.
 *
 * Under a steady inbound load V8 chose to grow the old generation by only about 10 % (4 MB at 5,000 chats)
 * before the next full collection, so a process holding 5,000 chats marked its whole heap about every 10 s,
 * each time costing 3 µs per message of that window. Growing by 100 % instead took 11 % off the CPU per
 * inbound message at 5,000 chats (`npm run bench:ab`). The cost: between full collections the heap may reach
 * twice what is live, about 35 MB more at 5,000 chats.
 */
export function tuneV8ForHeldChats(): void {
  for (const flag of HELD_CHAT_V8_FLAGS) v8.setFlagsFromString(flag);
}

/**
 * The flags {@link tuneV8ForHeldChats} sets. `v8.setFlagsFromString` ignores a flag V8 does not know, so a Node
 * whose V8 renamed one would silently run untuned: test/session/tuning.test.ts checks them against this Node.
 */
export const HELD_CHAT_V8_FLAGS = [
  '--no-allocation-site-pretenuring',
  `--heap-growing-percent=${HEAP_GROWING_PERCENT}`,
] as const;
