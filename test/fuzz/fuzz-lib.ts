/**
 * A bounded, seeded end-to-end fuzz of the core promise: "answers every customer message exactly once, in order,
 * and never answers one message twice" across emulator + ChatClient + BotHost + bot, under random faults.
 *
 * Every action the fuzz takes is logged, so a failing seed can be replayed and shrunk (see `runScript`).
 */

import type { Emulator } from '../../src/emulator/index.js';
import { DEFAULT_QUOTAS, defineBot, type KeptChat, prepareBot, TokenBucketLimiter } from '../../src/index.js';
import { FAST_TIMINGS } from '../support/harness.js';
import { botMessages, chatWithBot, hostSetup, nextHost } from '../support/host-harness.js';
import { seededRandom } from '../support/random.js';
import { waitUntil } from '../support/wait.js';

export type Op = 'SendMessage' | 'GetTranscript' | 'CreateParticipantConnection';

/** One fuzz action. A list of them is a replayable script. */
export type Action =
  | { a: 'say'; chat: number; delay: number }
  | { a: 'drop'; chat: number; mode: 'clean' | 'abrupt' }
  | { a: 'zombie'; chat: number; dropPushes: boolean }
  | { a: 'pushes'; chat: number; duplicate?: number; reorder?: number; lose?: number }
  | { a: 'fail'; op: Op; count: number; status: 429 | 500; afterCommit: boolean }
  | { a: 'timings'; connectionExpiryMs: number; connectionTokenTtlMs: number }
  | { a: 'keep' }
  | { a: 'pause'; ms: number };

export interface Config {
  chats: number;
  handlerTimeoutMs: number;
  maxQueueDepth: number;
  drainTimeoutMs: number;
}

export interface Outcome {
  violations: string[];
  errors: string[];
  said: string[][];
  answers: string[][];
  handled?: string[][];
}

function roomyLimiter(): TokenBucketLimiter {
  const rates = Object.fromEntries(
    Object.keys(DEFAULT_QUOTAS).map((name) => [name, { rate: 100_000, burst: 100_000 }]),
  );
  return new TokenBucketLimiter({ rates, throttlePauseMs: 30, maxThrottlePauseMs: 200 });
}

/** How near the handler timeout a slow handler gets (FUZZ_SLOWNESS, default 0.9). */
const SLOWNESS = Number(process.env.FUZZ_SLOWNESS ?? 0.9);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Builds a random script for a seed (≈ 2 s of faults). */
export function scriptFor(seed: number): { config: Config; script: Action[] } {
  const r = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const config: Config = {
    chats: 2,
    handlerTimeoutMs: pick([600, 800, 1000]),
    maxQueueDepth: pick([2, 3, 100]),
    drainTimeoutMs: pick([30, 150, 400]),
  };
  const script: Action[] = [];
  if (r() < 0.6)
    script.push({
      a: 'timings',
      connectionExpiryMs: pick([1200, 1800]),
      connectionTokenTtlMs: pick([2500, 3000]),
    });
  const keepAt = r() < 0.6 ? 8 + Math.floor(r() * 14) : -1;
  const keepAgainAt = keepAt >= 0 && r() < 0.4 ? keepAt + 3 + Math.floor(r() * 5) : -1;
  const steps = 30;
  for (let i = 0; i < steps; i++) {
    if (i === keepAt || i === keepAgainAt) script.push({ a: 'keep' });
    const chat = Math.floor(r() * config.chats);
    const roll = r();
    if (roll < 0.45) {
      const n = 1 + Math.floor(r() * 3);
      for (let k = 0; k < n; k++) {
        // Some handlers are slow, up to near the handler timeout.
        const slow = r() < 0.3;
        const delay = slow ? Math.floor(r() * config.handlerTimeoutMs * SLOWNESS) : 0;
        script.push({ a: 'say', chat, delay });
      }
    } else if (roll < 0.53) script.push({ a: 'drop', chat, mode: r() < 0.5 ? 'clean' : 'abrupt' });
    else if (roll < 0.58) script.push({ a: 'zombie', chat, dropPushes: r() < 0.5 });
    else if (roll < 0.7) {
      const k = r();
      script.push(
        k < 0.4
          ? { a: 'pushes', chat, duplicate: 1 + Math.floor(r() * 3) }
          : k < 0.7
            ? { a: 'pushes', chat, reorder: 1 }
            : { a: 'pushes', chat, lose: 1 },
      );
      // A push is lost only with the socket it was in flight on (TCP does not lose frames): the socket dies
      // right after. A lost push on a live socket is beyond any client's reach (and the back-fill's window).
      if (k >= 0.7) {
        script.push({ a: 'say', chat, delay: 0 });
        script.push({ a: 'drop', chat, mode: 'abrupt' });
      }
    } else if (roll < 0.85) {
      script.push({
        a: 'fail',
        op: pick(['SendMessage', 'SendMessage', 'GetTranscript', 'CreateParticipantConnection'] as const),
        count: 1 + Math.floor(r() * 3),
        status: r() < 0.5 ? 429 : 500,
        afterCommit: r() < 0.4,
      });
    }
    script.push({ a: 'pause', ms: 20 + Math.floor(r() * 100) });
  }
  return { config, script };
}

/** Runs a script on a fresh emulator and host; checks the invariants on the emulator's transcript. */
export async function runScript(
  config: Config,
  script: Action[],
  trace: string[] = [],
  debug: string[] = [],
): Promise<Outcome> {
  const received: Array<Set<string>> = [];
  /** Per chat, the order the bot was given its messages (handler starts, and drops reported in their turn). */
  const handled: string[][] = [];
  /** Chats whose pushes the fuzz reordered or lost: the bot cannot know of a message it was not pushed yet. */
  const disordered = new Set<number>();
  const errors: string[] = [];
  let tags = 0;
  const bot = prepareBot(
    defineBot({
      name: 'fuzz',
      displayName: 'Fuzz',
      sessionDefaults: () => ({ tag: ++tags }),
      setup(b) {
        b.on('message', async (ctx) => {
          const text = ctx.text;
          const chat = Number(text.split(':')[0]!.slice(1));
          received[chat]?.add(text);
          handled[chat]?.push(text);
          debug.push(`h${ctx.session.tag}:${text}:${ctx.item?.Id.slice(0, 6)}`);
          const delay = Number(text.split('/')[1] ?? 0);
          if (delay > 0) await sleep(delay);
          await ctx.reply(`a=${text}`);
        });
        b.catch(async (error) => {
          errors.push(`${error.code}:${error.ctx.text}`);
          const text = error.ctx.text ?? '';
          // An apology for a dropped or timed-out update is its one answer.
          const ectx = error.ctx as unknown as { session: { tag: number } };
          debug.push(`${error.code}@h${ectx.session.tag}:${text}:${error.ctx.item?.Id.slice(0, 6)}`);
          if (error.code === 'CB_QUEUE_FULL' || error.code === 'CB_HANDLER_TIMEOUT')
            await error.ctx.reply(`x=${error.ctx.text}`).then(
              // Given to the bot in its turn (a report from a host that released the chat fails: not counted).
              () => {
                if (error.code === 'CB_QUEUE_FULL') handled[Number(text.split(':')[0]!.slice(1))]?.push(text);
              },
              (e: { code?: string }) => {
                debug.push(`apology failed ${text}: ${e.code}`);
              },
            );
        });
      },
    }),
  );
  const clientTimings = {
    ...FAST_TIMINGS,
    heartbeatIntervalMs: 500,
    rotationMarginMs: 700,
    tokenRefreshMarginMs: 1500,
  };
  const hostOptions = {
    onShutdown: 'keep' as const,
    handlerTimeoutMs: config.handlerTimeoutMs,
    maxQueueDepth: config.maxQueueDepth,
    drainTimeoutMs: config.drainTimeoutMs,
  };
  const setup = await hostSetup({
    bots: [bot],
    emulator: { quotas: false },
    client: { timings: clientTimings },
    host: hostOptions,
    limiter: roomyLimiter(),
  });
  const { emulator } = setup;
  let host = setup.host;
  const chats: string[] = [];
  const said: string[][] = [];
  for (let c = 0; c < config.chats; c++) {
    chats.push((await chatWithBot(setup)).contactId);
    said.push([]);
    received.push(new Set());
    handled.push([]);
  }
  const ref = (c: number) => ({ contactId: chats[c]!, role: 'CUSTOM_BOT' as const });
  const injected = new Map<Op, number>();
  const failed = (op: Op) => emulator.calls.log.filter((c) => c.operation === op && c.status >= 429).length;
  let n = 0;
  for (const action of script) {
    switch (action.a) {
      case 'say': {
        const text = `c${action.chat}:m${++n}${action.delay ? `/${action.delay}` : ''}`;
        said[action.chat]!.push(text);
        emulator.say(chats[action.chat]!, text);
        break;
      }
      case 'drop':
        emulator.faults.dropSockets(ref(action.chat), action.mode);
        break;
      case 'zombie':
        if (action.dropPushes) disordered.add(action.chat);
        emulator.faults.stopHeartbeats(ref(action.chat), { dropPushes: action.dropPushes });
        break;
      case 'pushes': {
        const { a, chat, ...faults } = action;
        if (faults.reorder || faults.lose) disordered.add(chat);
        emulator.faults.pushes(ref(chat), faults);
        break;
      }
      case 'fail': {
        // Never more failures pending on one operation than a call's retries (4) can absorb: losing a reply to
        // an exhausted retry budget is by design, not a defect.
        const pending = (injected.get(action.op) ?? 0) - failed(action.op);
        if (pending > 0) {
          trace.push(`skip ${JSON.stringify(action)} (pending ${pending})`);
          continue;
        }
        injected.set(action.op, failed(action.op) + action.count);
        emulator.faults.failNext(action.op, {
          count: action.count,
          status: action.status,
          afterCommit: action.afterCommit,
        });
        break;
      }
      case 'timings':
        emulator.faults.setTimings({
          connectionExpiryMs: action.connectionExpiryMs,
          connectionTokenTtlMs: action.connectionTokenTtlMs,
        });
        break;
      case 'keep': {
        // A resume's CreateParticipantConnection must not meet more failures than its retries absorb.
        emulator.faults.clear();
        injected.clear();
        const stopped = await host.stop();
        const next = nextHost(setup, [bot], { client: { timings: clientTimings }, host: hostOptions });
        host = next.host;
        for (const kept of stopped.kept as KeptChat[]) await host.resume(kept);
        trace.push(`keep: kept ${stopped.kept.length}, unfinished ${stopped.unfinished}`);
        break;
      }
      case 'pause':
        await sleep(action.ms);
        break;
    }
    if (action.a !== 'pause') trace.push(JSON.stringify(action));
  }
  // Settle: no more faults; a back-fill for pushes the gateway lost (a client cannot learn of a lost push
  // until it reconnects, so the fuzz gives it one).
  emulator.faults.clear();
  for (let c = 0; c < config.chats; c++) {
    emulator.faults.pushes(ref(c), { duplicate: 0, reorder: 0, lose: 0 });
  }
  await waitUntil(
    () =>
      emulator.transcript(chats[0]!).length > 0 &&
      [...host.chats.values()].every((h) => h.session.state === 'open'),
    'sessions open',
    5000,
  ).catch(() => {});
  for (let c = 0; c < config.chats; c++) emulator.faults.dropSockets(ref(c), 'clean');
  const answeredAll = () =>
    chats.every((contactId, c) => {
      const got = new Set(botMessages(emulator, contactId).map((m) => m.slice(2)));
      return said[c]!.every((t) => got.has(t));
    });
  await waitUntil(answeredAll, 'every message answered', 5000).catch(() => {});
  await waitUntil(() => [...host.chats.values()].every((h) => h.idle), 'host idle', 3000).catch(() => {});
  await sleep(300); // anything late (a duplicate) would show up now
  const violations: string[] = [];
  const answers = chats.map((contactId) => botMessages(emulator, contactId));
  chats.forEach((_, c) => {
    violations.push(
      ...check(said[c]!, answers[c]!, received[c]!, handled[c]!, !disordered.has(c)).map(
        (v) => `chat ${c}: ${v}`,
      ),
    );
  });
  if (host !== setup.host) await host.stop();
  return { violations, errors, said, answers, handled };
}

/** The invariants for one chat. */
export function check(
  said: string[],
  answers: string[],
  received: Set<string>,
  handled: string[],
  strictOrder: boolean,
): string[] {
  const out: string[] = [];
  const index = new Map(said.map((t, i) => [t, i]));
  // The order the bot was given its messages: answers must follow it (the host's per-chat queue), and it must
  // be the order they were said unless the fuzz reordered or lost pushes.
  const given = new Map<string, number>();
  for (const t of handled) if (!given.has(t)) given.set(t, given.size);
  if (strictOrder) {
    const order = [...given.keys()].map((t) => index.get(t) ?? -1);
    for (let k = 1; k < order.length; k++)
      if (order[k]! < order[k - 1]!)
        out.push(`given out of order: ${said[order[k]!]} after ${said[order[k - 1]!]}`);
  }

  const counts = new Map<string, number>();
  let last = -1;
  for (const answer of answers) {
    const text = answer.slice(2);
    const i = index.get(text);
    if (i === undefined || !/^[ax]=/.test(answer)) {
      out.push(`answer to a message never said: ${answer}`);
      continue;
    }
    if (answer.startsWith('a=') && !received.has(text))
      out.push(`answer to a message the bot never got: ${answer}`);
    counts.set(text, (counts.get(text) ?? 0) + 1);
    if (strictOrder && i < last) out.push(`out of order: ${answer} after ${said[last]}`);
    last = Math.max(last, i);
  }
  for (const t of said) {
    const k = counts.get(t) ?? 0;
    if (k === 0) out.push(`never answered: ${t}`);
    if (k > 1) out.push(`answered ${k} times: ${t} (${answers.filter((a) => a.slice(2) === t).join(', ')})`);
  }
  return out;
}

export type { Emulator };
