import { afterEach, describe, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';

afterEach(closeAllTestChats);

describe('bot definitions, as TypeScript sees them', () => {
  it('infers the state from sessionDefaults, and a RegExp trigger gives ctx.match its groups', async () => {
    const bot = defineBot({
      name: 'typed',
      displayName: 'Typed',
      sessionDefaults: () => ({ asked: 0 }),
      setup(b) {
        b.hears(/order (?<id>\d+)/, async (ctx) => {
          ctx.session.asked++;
          await ctx.reply(`order ${ctx.match.groups?.id} (${ctx.session.asked})`);
        });
        b.hears('hi', (ctx) => ctx.reply(ctx.match.toUpperCase()));
      },
    });
    const chat = await testChat(bot);
    await chat.say('order 42 please');
    await chat.expectReply('order 42 (1)');
    await chat.say('hi');
    await chat.expectReply('HI');
  });

  it('a state with required fields needs sessionDefaults; one with only optional fields does not', () => {
    // @ts-expect-error without its defaults, ctx.session.asked would start undefined
    defineBot<{ asked: number }>({ name: 'no-defaults', displayName: 'B', setup() {} });
    expect(defineBot<{ asked?: number }>({ name: 'optional', displayName: 'C', setup() {} }).name).toBe(
      'optional',
    );
    expect(defineBot({ name: 'untyped', displayName: 'D', setup() {} }).name).toBe('untyped');
  });

  it("on('join') and on('end') are refused (a type error, and at load): the hooks are onJoin and onEnd", async () => {
    for (const [kind, hook] of [
      ['join', 'onJoin'],
      ['end', 'onEnd'],
    ] as const) {
      const bot = defineBot({
        name: 'hooks',
        displayName: 'Hooks',
        setup(b) {
          // @ts-expect-error not an update kind `on` handles
          b.on(kind, () => {});
        },
      });
      await expect(testChat(bot)).rejects.toMatchObject({
        code: 'CB_BOT_LOAD_FAILED',
        message: expect.stringContaining(`use bot.${hook}()`),
      });
    }
  });
});
