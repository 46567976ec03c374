import { defineBot, isMessageContentType } from 'connect-bot';

/** Repeats every message back, in the customer's content type where a bot may send it. The smallest useful bot. */
export default defineBot({
  name: 'echo',
  displayName: 'Echo',
  setup(bot) {
    bot.onJoin((ctx) => ctx.reply('Hi! I am Echo. I repeat whatever you say.'));
    bot.on('message', (ctx) => {
      const type = ctx.item.ContentType;
      return ctx.reply(ctx.text, { contentType: isMessageContentType(type) ? type : 'text/plain' });
    });
  },
});
