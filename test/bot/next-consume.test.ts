import { afterEach, describe, expect, it } from 'vitest';
import type { NextFunction } from '../../src/bot/composer.js';
import { closeAllTestChats } from '../../src/testing/index.js';
import { deferred } from '../support/deferred.js';
import { failingDownstream, recordUnhandled, turns } from '../support/next-harness.js';

afterEach(closeAllTestChats);

// biome-ignore lint/suspicious/noExplicitAny: middleware under test, of any context type
type Mw = (ctx: any, next: NextFunction) => unknown;

/** The downstream's failure is not handled by the middleware: bot.catch gets it exactly once, nothing unhandled. */
const reported: Array<[string, Mw]> = [
  [
    'await next()',
    async (_c, next) => {
      await next();
    },
  ],
  ['return next() (sync)', (_c, next) => next()],
  ['return next() (async)', async (_c, next) => next()],
  ['return await next()', async (_c, next) => await next()],
  [
    'next() ignored (sync)',
    (_c, next) => {
      void next();
    },
  ],
  [
    'next() ignored (async)',
    async (_c, next) => {
      void next();
    },
  ],
  [
    'next().then(() => x) unawaited',
    (_c, next) => {
      void next().then(() => 'x');
    },
  ],
  [
    'next().finally(f) unawaited',
    (_c, next) => {
      void next().finally(() => {});
    },
  ],
  [
    'await next().then(() => x)',
    async (_c, next) => {
      await next().then(() => 'x');
    },
  ],
  [
    'await Promise.all([next(), other])',
    async (_c, next) => {
      await Promise.all([next(), Promise.resolve(1)]);
    },
  ],
  [
    'await Promise.race([next(), pending])',
    async (_c, next) => {
      await Promise.race([next(), new Promise(() => {})]);
    },
  ],
  [
    'await Promise.resolve(next())',
    async (_c, next) => {
      await Promise.resolve(next());
    },
  ],
  [
    'next().catch(h) unawaited, h rethrows',
    (_c, next) => {
      void next().catch((error) => {
        throw error;
      });
    },
  ],
  [
    'await helper(next()) that awaits it',
    async (_c, next) => {
      const helper = async (p: PromiseLike<void>) => {
        await p;
      };
      await helper(next());
    },
  ],
];

describe('unhandled downstream failure: bot.catch exactly once, no unhandled rejection', () => {
  for (const [name, mw] of reported) {
    it(name, async () => {
      const rec = recordUnhandled();
      try {
        const { chat, caught, reportedOnce } = await failingDownstream(mw);
        await chat.say('hi');
        await reportedOnce.wait(3000, `bot.catch never got the failure (${name})`).catch((e) => {
          caught.push(`MISSING: ${(e as Error).message}`);
        });
        await chat.say('second'); // the turn after: any double report of the first would have arrived by now
        await reportedOnce.wait(100, 'x').catch(() => {});
        await turns();
        expect({ caught: caught.slice(0, 2), unhandled: rec.reasons.map(String) }).toEqual({
          caught: ['downstream boom', 'downstream boom'],
          unhandled: [],
        });
      } finally {
        rec.stop();
      }
    });
  }
});

/** The middleware handled the downstream's failure: bot.catch never sees it, nothing unhandled. */
const handled: Array<[string, Mw]> = [
  [
    'try { await next() } catch',
    async (_c, next) => {
      try {
        await next();
      } catch {}
    },
  ],
  [
    'next().catch(h)',
    (_c, next) => {
      void next().catch(() => {});
    },
  ],
  [
    'next().then(f, h)',
    (_c, next) => {
      void next().then(
        () => {},
        () => {},
      );
    },
  ],
  [
    'try { await next().finally(f) } catch',
    async (_c, next) => {
      try {
        await next().finally(() => {});
      } catch {}
    },
  ],
  [
    'try { await Promise.resolve(next()) } catch',
    async (_c, next) => {
      try {
        await Promise.resolve(next());
      } catch {}
    },
  ],
  [
    'try { await Promise.all([next(), other]) } catch',
    async (_c, next) => {
      try {
        await Promise.all([next(), Promise.resolve(1)]);
      } catch {}
    },
  ],
  [
    'try { await helper(next()) } catch',
    async (_c, next) => {
      const helper = async (p: PromiseLike<void>) => {
        await p;
      };
      try {
        await helper(next());
      } catch {}
    },
  ],
  [
    'try { await next().then(() => x) } catch',
    async (_c, next) => {
      try {
        await next().then(() => 'x');
      } catch {}
    },
  ],
  [
    'next().then(() => x).catch(h)',
    (_c, next) => {
      void next()
        .then(() => 'x')
        .catch(() => {});
    },
  ],
  [
    'await next().then(() => x).catch(h)',
    async (_c, next) => {
      await next()
        .then(() => 'x')
        .catch(() => {});
    },
  ],
];

describe('handled downstream failure: bot.catch never, no unhandled rejection', () => {
  for (const [name, mw] of handled) {
    it(name, async () => {
      const rec = recordUnhandled();
      try {
        const handledIt = deferred<void>();
        const wrapped: Mw = async (ctx, next) => {
          await mw(ctx, next);
          handledIt.resolve();
        };
        const { chat, caught } = await failingDownstream(wrapped);
        await chat.say('hi');
        await handledIt.wait(3000, 'middleware never finished');
        await chat.say('second'); // the chat's turns are ordered: once this is handled, the first is fully done
        await chat.expectNoReply(200);
        await turns();
        expect({ caught, unhandled: rec.reasons.map(String) }).toEqual({ caught: [], unhandled: [] });
      } finally {
        rec.stop();
      }
    });
  }
});
