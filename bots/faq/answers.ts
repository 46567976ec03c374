export const MENU = [
  '**Hi! I am the Help Center bot.** I can help with:',
  '1. Opening hours',
  '2. Shipping',
  '3. Returns and refunds',
  '',
  'Type a number or a keyword. Type **agent** to talk to a person.',
].join('\n');

/** A menu number typed on its own ("2", "2."): a digit inside a sentence ("I was charged 3 times") is not a choice. */
export function choice(n: number): RegExp {
  return new RegExp(`^\\s*${n}\\.?\\s*$`);
}

export const ANSWERS: Array<{ topic: string; trigger: RegExp[]; text: string }> = [
  {
    topic: 'hours',
    trigger: [/\b(hours|open|opening|closed?)\b/i, choice(1)],
    text: 'We are open **9:00 to 17:00, Monday to Friday**. Chat is staffed in the same hours.',
  },
  {
    topic: 'shipping',
    trigger: [/\b(shipping|delivery|deliver|ship)\b/i, choice(2)],
    text: 'Standard shipping takes **3-5 business days**; express takes 1-2. Orders over $50 ship free.',
  },
];

/** Stands in for a slow order-system call. */
export async function lookUpOrder(order: string): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 300));
  const eligible = Number(order.at(-1)) % 2 === 0;
  return eligible
    ? `Order ${order} is eligible for a return. We have emailed you a prepaid label.`
    : `Order ${order} is past its 30-day return window. Type "agent" if you would like to discuss it.`;
}
