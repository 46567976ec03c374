// Regression (fixed): Composer.on() refuses only 'join'/'end'; any other unknown kind (a typo in a .js/.mjs plugin, which
// loadBots accepts, or a cast) is accepted and the handler silently never runs. grammY validates filter queries at
// registration and throws (anchors-bots.md: "Filter queries for `on` (type-checked strings)"); here the same
// mistake is only caught for the two hook names.
import { afterEach, expect, it } from 'vitest';
import { defineBot } from '../../src/index.js';
import { closeAllTestChats, testChat } from '../../src/testing/index.js';

afterEach(closeAllTestChats);

it("bot.on('mesage') (unknown kind) is refused at load like on('join')", async () => {
  // Expected: CB_BOT_LOAD_FAILED naming the kind. Before the fix: the bot loads and the handler never runs.
  const bot = defineBot({
    name: 'typo',
    displayName: 'Typo',
    setup(b) {
      b.on('mesage' as 'message', (ctx) => ctx.reply('never')); // as a plain-JavaScript plugin would
    },
  });
  const outcome = await testChat(bot).then(
    async (chat) => {
      await chat.close();
      return 'loaded';
    },
    (error: { code?: string }) => error.code,
  );
  expect(outcome).toBe('CB_BOT_LOAD_FAILED');
}, 20_000);
