import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/spawn.js';

const STACK_LINE = /^\s+at .+[:(]/m;

let server: Server | undefined;
afterEach(async () => {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server!.close(() => resolve()));
  server = undefined;
});

/** A free 127.0.0.1 port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('connect-bot join', () => {
  it('a host that is not running: one line naming the URL and the cause (ECONNREFUSED), no stack trace', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/join`;
    const cli = runCli(['join', '--url', url, '--instance-id', 'i', '--contact-id', 'c']);
    expect(await cli.exit()).toBe(1);
    const stderr = cli.stderr.join('\n');
    expect(stderr).not.toMatch(STACK_LINE);
    expect(stderr).toMatch(/ECONNREFUSED|refused/i);
    expect(stderr).toContain(url);
  });

  it('--url that is not a URL is a usage error (exit 2), not a TypeError stack', async () => {
    const cli = runCli(['join', '--url', 'notaurl', '--instance-id', 'i', '--contact-id', 'c']);
    const code = await cli.exit();
    expect(cli.stderr.join('\n')).not.toMatch(STACK_LINE);
    expect(code).toBe(2);
  });

  it('a host that never answers: gives up after --timeout-ms (default 10 s), instead of hanging', async () => {
    server = createServer(() => {
      /* accepts the request and never answers */
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/join`;
    const cli = runCli([
      'join',
      '--url',
      url,
      '--instance-id',
      'i',
      '--contact-id',
      'c',
      '--timeout-ms',
      '300',
    ]);
    // exit() SIGKILLs the CLI and rejects if it is still waiting after 10 s.
    const code = await cli.exit(10_000);
    expect(code).toBe(1);
    expect(cli.stderr.join('\n')).toMatch(/timeout|timed out/i);
  });
});

describe('connect-bot emulator', () => {
  it("--port '' / '0x0' / '0e5' are refused (exit 2), not read by Number() as port 0 (so '0x1F90' silently binds 8080)", async () => {
    const outcomes: Record<string, unknown> = {};
    for (const port of ['', '0x0', '0e5']) {
      const cli = runCli(['emulator', '--port', port]);
      const outcome = await Promise.race([
        cli.exit().then((code) => ({ code })),
        cli.line('{').then(() => ({ started: true })),
      ]);
      if ('started' in outcome) {
        cli.child.kill('SIGTERM');
        await cli.exit();
      }
      outcomes[port] = outcome;
    }
    expect(outcomes).toEqual({ '': { code: 2 }, '0x0': { code: 2 }, '0e5': { code: 2 } });
  });
});
