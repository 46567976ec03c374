import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { waitForBotMessages } from '../support/host-harness.js';
import { runningHost, SECRET } from '../support/running-host.js';
import { waitUntil } from '../support/wait.js';

type Handler = (event: unknown) => Promise<Record<string, string>>;

/** The example forwarder, loaded afresh with this environment (it reads it as it loads, as Lambda does). */
async function forwarder(env: Record<string, string>): Promise<Handler> {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const path = '../../examples/lambda-forwarder/index.mjs'; // plain JavaScript, as deployed: no types
  return ((await import(path)) as { handler: Handler }).handler;
}

const servers: Server[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** A local HTTP server; its URL. */
async function serve(answer: (body: string) => Promise<{ status: number; type: string; body: string }>) {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', async () => {
      const out = await answer(body);
      res.writeHead(out.status, { 'content-type': out.type }).end(out.body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the example Lambda forwarder (examples/lambda-forwarder)', () => {
  it("puts the bot into a chat from the flow's Invoke Lambda block (an empty TIMEOUT_MS is the default)", async () => {
    const { emulator, running } = await runningHost();
    const handler = await forwarder({ JOIN_URL: running.joinUrl, JOIN_SECRET: SECRET, TIMEOUT_MS: '' });
    // Stands in for Lambda: the flow's event in, the handler's result out.
    const lambda = await serve(async (body) => ({
      status: 200,
      type: 'application/json',
      body: JSON.stringify(await handler(JSON.parse(body))),
    }));
    emulator.setFlow({ url: lambda, parameters: { bot: 'echo' } });
    const { contactId } = emulator.startChat();
    await waitUntil(
      () =>
        emulator.outcome(contactId).lambda?.status === 'succeeded' ||
        emulator.outcome(contactId).lambda?.status === 'failed',
      'the Lambda block',
    );
    expect(emulator.outcome(contactId).lambda).toMatchObject({
      status: 'succeeded',
      response: { status: 'success', participantId: expect.any(String), code: '' },
    });
    await waitForBotMessages(emulator, contactId, 1);
  });

  it("gives the flow the HTTP status of an answer that is not JSON (a load balancer's error page)", async () => {
    const url = await serve(async () => ({
      status: 502,
      type: 'text/html',
      body: '<h1>502 Bad Gateway</h1>',
    }));
    const handler = await forwarder({ JOIN_URL: url, JOIN_SECRET: SECRET });
    expect(await handler({ Name: 'ContactFlowEvent', Details: {} })).toEqual({
      status: 'error',
      participantId: '',
      code: 'HTTP_502',
    });
  });

  it("gives HTTP_<status> for a 2xx that is not the host's answer (a load balancer's fixed response)", async () => {
    const url = await serve(async () => ({ status: 200, type: 'text/plain', body: 'OK' }));
    const handler = await forwarder({ JOIN_URL: url, JOIN_SECRET: SECRET });
    expect(await handler({ Name: 'ContactFlowEvent', Details: {} })).toEqual({
      status: 'error',
      participantId: '',
      code: 'HTTP_200',
    });
  });

  it('tries once more on a new connection when one fails before an answer (closed while the container slept)', async () => {
    let requests = 0;
    const server = createServer((req, res) => {
      if (++requests === 1) {
        req.socket.destroy(); // the connection dies before an answer
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'success', participantId: 'p-1' }));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const handler = await forwarder({
      JOIN_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/join`,
      JOIN_SECRET: SECRET,
    });
    expect(await handler({ Name: 'ContactFlowEvent', Details: {} })).toEqual({
      status: 'success',
      participantId: 'p-1',
      code: '',
    });
    expect(requests).toBe(2);
  });
});
