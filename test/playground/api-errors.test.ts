import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/log-types.js';
import { type Playground, startPlayground } from '../../src/playground/index.js';

let playground: Playground;
let base: string;

beforeAll(async () => {
  playground = await startPlayground({ logger: silentLogger, port: 0 });
  base = playground.ready.playgroundUrl;
});
afterAll(async () => {
  await playground?.stop();
});

async function call(method: string, path: string, body?: string) {
  const response = await fetch(new URL(path, base), {
    method,
    ...(body !== undefined ? { body } : {}),
    signal: AbortSignal.timeout(5000),
  });
  return { status: response.status, body: (await response.json()) as { error?: string; code?: string } };
}

describe('playground API: bad input', () => {
  it('a body over the 16 KiB limit is 413 (CB_PAYLOAD_TOO_LARGE), not 400', async () => {
    const { status, body } = await call(
      'POST',
      '/api/chats',
      JSON.stringify({ displayName: 'x'.repeat(20_000) }),
    );
    expect(status).toBe(413);
    expect(body.code).toBe('CB_PAYLOAD_TOO_LARGE');
  });

  it('an unknown chat is 404, not 400 (GET and faults)', async () => {
    expect((await call('GET', '/api/chats/no-such-contact')).status).toBe(404);
    expect((await call('POST', '/api/chats/no-such-contact/faults', '{"fault":"drop"}')).status).toBe(404);
    // Not valid percent-encoding: no chat has that id (it was a 500 CB_INTERNAL).
    expect((await call('GET', '/api/chats/%E0%A4%A')).status).toBe(404);
    expect((await call('POST', '/api/chats/%E0%A4%A/faults', '{"fault":"drop"}')).status).toBe(404);
  });

  it('errors carry a code, like the join endpoint does', async () => {
    for (const [path, body] of [
      ['/api/chats', '{bad json'],
      ['/api/chats', '{"bot":"nope"}'],
      ['/api/chats/x/faults', '{"fault":"melt"}'],
    ] as const) {
      const answer = await call('POST', path, body);
      expect(answer.status, `${path} ${body}`).toBe(400);
      expect(answer.body.code, `${path} ${body}: ${JSON.stringify(answer.body)}`).toMatch(/^CB_/);
    }
  });

  it('a wrongly typed field is named in the error, not a JavaScript TypeError message', async () => {
    const displayName = await call('POST', '/api/chats', '{"displayName":5}');
    expect(displayName.status).toBe(400);
    expect(displayName.body.error).not.toMatch(/is not a function/);
    expect(displayName.body.error).toMatch(/displayName/);

    const nullFault = await call('POST', '/api/chats/x/faults', 'null');
    expect(nullFault.status).toBe(400);
    expect(nullFault.body.error).not.toMatch(/Cannot destructure/);
    expect(nullFault.body.error).toMatch(/fault/);
  });

  it('a request whose body never finishes is answered (408) and closed, not held for Node’s 5-minute default', async () => {
    const { port } = new URL(base);
    const status = await new Promise<number | string>((resolve) => {
      const req = request({
        host: '127.0.0.1',
        port: Number(port),
        method: 'POST',
        path: '/api/chats',
        headers: { 'content-type': 'application/json', 'content-length': '100' },
      });
      const timer = setTimeout(() => {
        req.destroy();
        resolve('no answer within 15 s');
      }, 15_000);
      req.on('response', (res) => {
        clearTimeout(timer);
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (error) => {
        clearTimeout(timer);
        resolve(`closed without an answer: ${error.message}`);
      });
      req.write('{"bot"'); // and never the rest
    });
    expect(status).toBe(408);
  }, 20_000);

  it('an unknown route is 404 JSON', async () => {
    const { status, body } = await call('GET', '/nothing/here');
    expect(status).toBe(404);
    expect(body.error).toBe('not found');
  });
});
