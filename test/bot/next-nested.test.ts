import * as util from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { Composer } from '../../src/bot/composer.js';
import { defineBot } from '../../src/index.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';
import { deferred } from '../support/deferred.js';
import { recordUnhandled, turns } from '../support/next-harness.js';

afterEach(closeAllTestChats);

const boom = async () => {
  await Promise.resolve();
  throw new Error('downstream boom');
};
const ignore = (_c: unknown, next: () => Promise<void>) => {
  void next();
};

// biome-ignore lint/suspicious/noExplicitAny: each shape sets up a bot of its own state type
const shapes: Array<[string, (bot: any) => void]> = [
  [
    'bot.use(new Composer(ignore, ignore)) then failing on()',
    (bot) => {
      bot.use(new Composer(ignore as never, ignore as never));
      bot.on('message', boom);
    },
  ],
  [
    'new Composer whose inner failing handler is ignored by an inner sibling',
    (bot) => {
      bot.use(new Composer(ignore as never, boom as never));
    },
  ],
  [
    'filter(ignore) then failing on()',
    (bot) => {
      bot.filter(() => true, ignore);
      bot.on('message', boom);
    },
  ],
  [
    'branch(yes: ignore, no) then failing on()',
    (bot) => {
      bot.branch(() => true, ignore, ignore);
      bot.on('message', boom);
    },
  ],
  [
    'hears(x, ignore, failing)',
    (bot) => {
      bot.hears('hi', ignore, boom);
    },
  ],
  [
    'hears(x, await-next) then failing on()',
    (bot) => {
      bot.hears('hi', async (_c: unknown, next: () => Promise<void>) => {
        await next();
      });
      bot.on('message', boom);
    },
  ],
  [
    'errorBoundary(h, ignore) then failing on() (outside the boundary)',
    (bot) => {
      bot.errorBoundary(() => {}, ignore);
      bot.on('message', boom);
    },
  ],
  [
    'outer ignore, nested composer of awaits, failing leaf',
    (bot) => {
      bot.use(ignore);
      const inner = new Composer(async (_c: unknown, n: () => Promise<void>) => {
        await n();
      });
      inner.filter(
        () => true,
        (_c: unknown, n: () => Promise<void>) => n(),
      );
      bot.use(inner);
      bot.on('message', boom);
    },
  ],
  [
    'next().then(f) inside a filter, failing on() after',
    (bot) => {
      bot.filter(
        () => true,
        (_c: unknown, n: () => Promise<void>) => {
          void n().then(() => {});
        },
      );
      bot.on('message', boom);
    },
  ],
];

for (const [name, build] of shapes) {
  it(`nested: ${name} → bot.catch exactly once, no unhandled rejection`, async () => {
    const rec = recordUnhandled();
    try {
      const caught: string[] = [];
      const got = deferred<void>();
      const bot = defineBot({
        name: 'nested',
        displayName: 'N',
        setup(b) {
          build(b);
          b.catch((e) => {
            caught.push(e.message);
            got.resolve();
          });
        },
      });
      const chat = await testChat(bot);
      await chat.say('hi');
      await got.wait(3000, 'bot.catch never got the failure');
      await chat.expectNoReply(200);
      await turns();
      expect({ caught, unhandled: rec.reasons.map(String) }).toEqual({
        caught: ['downstream boom'],
        unhandled: [],
      });
    } finally {
      rec.stop();
    }
  });
}

it('what next() returns is promise-like (then, catch, finally), not a Promise instance (README)', async () => {
  const seen = deferred<Record<string, unknown>>();
  const bot = defineBot({
    name: 'types',
    displayName: 'T',
    setup(b) {
      b.use(async (_c, next) => {
        const p = next();
        seen.resolve({
          instanceofPromise: p instanceof Promise,
          isPromise: util.types.isPromise(p),
          sameAsResolve: Promise.resolve(p) === p,
          toString: Object.prototype.toString.call(p),
        });
        await p;
      });
      b.on('message', (ctx) => ctx.reply('ok'));
    },
  });
  const chat = await testChat(bot);
  await chat.say('hi');
  await chat.expectReply('ok');
  expect(await seen.wait(3000, 'middleware ran')).toEqual({
    instanceofPromise: false,
    isPromise: false,
    sameAsResolve: false,
    toString: '[object Promise]',
  });
});
