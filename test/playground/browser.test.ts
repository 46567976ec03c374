import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/log-types.js';
import { type Playground, startPlayground } from '../../src/playground/index.js';

/** Debian's chromium (`.ci/run` installs it); never a browser downloaded by a test tool. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run must install chromium`);

describe.skipIf(!haveChromium)('playground in a real browser', () => {
  let playground: Playground;
  let context: BrowserContext;
  let profile: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    playground = await startPlayground({ logger: silentLogger });
    profile = await mkdtemp(join(tmpdir(), 'connect-bot-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
      ],
      viewport: { width: 1280, height: 860 },
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await playground?.stop();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  async function botSays(page: Page, text: string): Promise<void> {
    try {
      await page.locator('[data-testid=bot-message]', { hasText: text }).first().waitFor({ timeout: 30_000 });
    } catch (error) {
      // Say what the page showed instead: the chat, the host panel and any script errors.
      const shown = await page
        .locator('body')
        .innerText()
        .catch(() => '(page gone)');
      throw new Error(
        `the bot did not say "${text}": ${(error as Error).message}\npage errors: ${pageErrors.join(' | ')}\npage:\n${shown}`,
      );
    }
  }

  async function say(page: Page, text: string): Promise<void> {
    await page.fill('[data-testid=message-input]', text);
    await page.press('[data-testid=message-input]', 'Enter');
  }

  it('chats with the faq bot through chatjs, survives a dropped socket, and shows the flow outcome', async () => {
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(playground.ready.playgroundUrl);
    await page.selectOption('[data-testid=bot-select]', 'faq');
    await page.click('[data-testid=start-chat]');
    await botSays(page, 'Help Center bot');
    await expect.poll(() => page.locator('[data-testid=message-input]').isEnabled()).toBe(true);

    await say(page, 'shipping');
    await botSays(page, '3-5 business days');
    // The composer holds at most what SendMessage accepts (text/plain: 1024 characters).
    await say(page, 'z'.repeat(1100));
    const long = page.locator('[data-testid=customer-message]', { hasText: 'zzzzzzzzzz' }).first();
    await long.waitFor({ timeout: 15_000 });
    expect((await long.textContent())?.match(/z+/)?.[0]).toHaveLength(1024);
    // Markdown from the bot is rendered, not shown raw.
    expect(
      await page.locator('[data-testid=bot-message] strong', { hasText: '3-5 business days' }).count(),
    ).toBe(1);

    // The host panel shows the chat; drop the bot's socket and watch it recover.
    await page.locator('[data-testid=host-chat]').first().waitFor();
    await page.click('[data-testid=fault-drop]');
    await page.waitForFunction(
      () => document.querySelector('[data-testid=host-chat] [data-testid=reconnects]')?.textContent === '1',
      undefined,
      { timeout: 15_000 },
    );
    await say(page, '1');
    await botSays(page, '9:00 to 17:00');

    await say(page, 'agent please');
    await page
      .locator('[data-testid=outcome]', { hasText: 'BotParticipantDisconnected' })
      .waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid=outcome]').textContent()).toContain('"intent": "agent"');

    await mkdir('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/playground.png', fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
