import { defineBot } from 'connect-bot';

interface IntakeState {
  step: 'name' | 'reason' | 'done';
  customerName?: string;
}

/** Intents the bot recognises, and the queue each is routed to by the contact flow. */
const ROUTES: Array<{ intent: string; targetQueue: string; pattern: RegExp }> = [
  { intent: 'billing', targetQueue: 'Billing', pattern: /\b(bill|billing|invoice|charge|payment|refund)\b/i },
  {
    intent: 'technical',
    targetQueue: 'TechSupport',
    pattern: /\b(broken|error|bug|crash|not working|login|password)\b/i,
  },
  { intent: 'sales', targetQueue: 'Sales', pattern: /\b(buy|price|pricing|quote|upgrade|plan)\b/i },
];

function route(reason: string): { intent: string; targetQueue: string } {
  const match = ROUTES.find((r) => r.pattern.test(reason));
  return match
    ? { intent: match.intent, targetQueue: match.targetQueue }
    : { intent: 'general', targetQueue: 'General' };
}

/**
 * An intake bot: asks the customer's name and reason over two turns, then hands the chat back to the flow
 * with `customerName`, `intent` and `targetQueue` set, for the flow to route on.
 */
export default defineBot<IntakeState>({
  name: 'handoff',
  displayName: 'Assistant',
  sessionDefaults: () => ({ step: 'name' }),
  setup(bot) {
    bot.onJoin((ctx) => ctx.reply('Hi! Before I connect you with the right team: what is your name?'));

    bot.on('message', async (ctx) => {
      const text = ctx.text.trim();
      switch (ctx.session.step) {
        case 'name': {
          if (!text) return ctx.reply('Sorry, what is your name?');
          ctx.session.customerName = [...text].slice(0, 100).join(''); // whole characters, not UTF-16 units
          ctx.session.step = 'reason';
          await ctx.reply(`Thanks, ${ctx.session.customerName}. What can we help you with today?`);
          return;
        }
        case 'reason': {
          if (!text) return ctx.reply('Sorry, what can we help you with?');
          const { intent, targetQueue } = route(text);
          await ctx.reply(`Got it. Connecting you to our ${targetQueue} team now.`);
          try {
            await ctx.handoff({ customerName: ctx.session.customerName ?? '', intent, targetQueue });
          } catch (error) {
            // Still in the chat: say so, and take the next message as the reason again. (If the chat is over,
            // this reply fails too; the handoff's error is the one worth reporting.)
            await ctx
              .reply('Sorry, I could not connect you just now. What can we help you with?')
              .catch(() => {});
            throw error;
          }
          ctx.session.step = 'done';
          return;
        }
        default:
          return;
      }
    });
  },
});
