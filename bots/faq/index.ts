import { defineBot } from 'connect-bot';
import { ANSWERS, choice, lookUpOrder, MENU } from './answers.js';

interface FaqState {
  /** Set while the bot waits for an order number (the returns flow spans several turns). */
  awaitingOrderNumber: boolean;
  /** Topics the customer asked about, handed to the agent if they ask for one. */
  topics: string[];
}

/**
 * Answers common questions from a menu or by keyword, walks the customer through a return over several
 * turns, and hands the chat back to the flow when the customer asks for a person.
 */
export default defineBot<FaqState>({
  name: 'faq',
  displayName: 'Help Center',
  sessionDefaults: () => ({ awaitingOrderNumber: false, topics: [] }),
  setup(bot) {
    bot.onJoin((ctx) => ctx.reply(MENU, { contentType: 'text/markdown' }));

    bot.hears(/\b(agent|human|person|representative)\b/i, async (ctx) => {
      await ctx.reply('Connecting you with a member of our team.');
      try {
        await ctx.handoff({ intent: 'agent', topics: ctx.session.topics.join(',') || 'none' });
      } catch (error) {
        // Still in the chat after a promise of a person: say so (if the chat is over, this fails too).
        await ctx
          .reply('Sorry, I could not reach the team just now. Ask again for an agent, or type **menu**.', {
            contentType: 'text/markdown',
          })
          .catch(() => {});
        throw error;
      }
    });

    // Also the way out of the returns flow, as its prompt says.
    bot.hears(/^\s*(menu|help|\?)\s*$/i, (ctx) => {
      ctx.session.awaitingOrderNumber = false;
      return ctx.reply(MENU, { contentType: 'text/markdown' });
    });

    // Second turn of the returns flow: the previous message asked for an order number.
    bot.filter(
      (ctx) => ctx.kind === 'message' && ctx.session.awaitingOrderNumber,
      async (ctx) => {
        const order = /\b(\d{5,10})\b/.exec(ctx.text ?? '')?.[1];
        if (!order) {
          await ctx.reply(
            'That does not look like an order number (5 to 10 digits). Please try again, or type "menu".',
          );
          return;
        }
        ctx.session.awaitingOrderNumber = false;
        await ctx.typing(); // the lookup takes a moment
        const status = await lookUpOrder(order);
        await ctx.reply(status);
      },
    );

    bot.hears([/\b(returns?|refunds?)\b/i, choice(3)], async (ctx) => {
      remember(ctx.session.topics, 'returns');
      ctx.session.awaitingOrderNumber = true;
      await ctx.reply('I can help with a return. What is your order number?');
    });

    for (const answer of ANSWERS) {
      bot.hears(answer.trigger, async (ctx) => {
        remember(ctx.session.topics, answer.topic);
        await ctx.reply(answer.text, { contentType: 'text/markdown' });
      });
    }

    bot.hears(/\b(bye|goodbye|thanks|thank you)\b/i, (ctx) =>
      ctx.reply('You are welcome. Have a great day!'),
    );

    bot.on('message', (ctx) =>
      ctx.reply(
        'Sorry, I did not get that. Type a number from the menu, a keyword like "shipping", or "agent".',
      ),
    );
  },
});

/** Notes a topic once, in the order first asked. */
function remember(topics: string[], topic: string): void {
  if (!topics.includes(topic)) topics.push(topic);
}
