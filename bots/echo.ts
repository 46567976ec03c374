import { defineBot } from 'connect-bot';

/** Repeats every message back. The smallest useful bot. */
export default defineBot({
  name: 'echo',
  displayName: 'Echo',
  setup(bot) {
    bot.onJoin((ctx) => ctx.reply('Hi! I am Echo. I repeat whatever you say.'));
    bot.on('message', (ctx) => ctx.reply(ctx.text));
  },
});
