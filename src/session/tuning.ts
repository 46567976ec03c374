import v8 from 'node:v8';

/**
 * Process-wide V8 setting for a process that holds many chats: turns off V8's allocation-site pretenuring.
 * Call once, early, before the first join; `connect-bot start` does (config `host.v8Tuning`).
 *
 * V8 moves an allocation site to "allocate straight into the old generation" when most of what it allocated
 * survived a young-generation collection. A burst of joins (many sessions opening at once, API calls in
 * flight) makes sites on the socket read path look long-lived, and the decision sticks: from then on every
 * inbound message leaves its short-lived objects in the old generation. In bench/held-chats.ts at 1,000 chats
 * and 2,000 msg/s that was 10× the promoted bytes, 5× the full collections and 8× the CPU on V8's helper
 * threads of the same process without the burst; with pretenuring off it goes back to the floor's figures.
 * The cost: objects that really are long-lived are copied once more before they reach the old generation.
 */
export function tuneV8ForHeldChats(): void {
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}
