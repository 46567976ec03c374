import { afterEach, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';
import { deferred } from '../support/deferred.js';

afterEach(closeAllTestChats);

it('a handler still running when the customer leaves gets coded errors from reply/typing, not hangs', async () => {
  const gate = deferred<void>();
  const entered = deferred<void>();
  const result = deferred<string[]>();
  const bot = defineBot({
    name: 'late',
    displayName: 'Late',
    setup(bot) {
      bot.on('message', async (ctx) => {
        entered.resolve();
        await gate.promise;
        const out: string[] = [];
        for (const act of [() => ctx.reply('too late'), () => ctx.typing(), () => ctx.markRead()]) {
          try {
            await act();
            out.push('ok');
          } catch (error) {
            out.push(String((error as { code?: string }).code));
          }
        }
        result.resolve(out);
      });
    },
  });
  const chat = await testChat(bot);
  await chat.say('hi');
  await entered.wait(3000, 'handler never started');
  await chat.leave();
  await chat.expectEnded();
  gate.resolve();
  const codes = await result.wait(3000, 'actions after the end hung');
  for (const code of codes) expect(code).toMatch(/^CB_(SESSION_ENDED|CHAT_ENDED)$/);
});
