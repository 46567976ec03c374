import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { type ChatParticipant, chatKit, rejection } from '../support/chat.js';
import { TestSocket } from '../support/ws-client.js';

// Malformed, missing, oversize and misrouted input, sent raw: the errors must be the restJson1 ones the
// SDKs parse (status, x-amzn-ErrorType, x-amzn-RequestId, a body with __type/message/Message).

let emulator: Emulator;
let chat: ReturnType<typeof chatKit>;
let customer: ChatParticipant;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  emulator = await startEmulator();
  chat = chatKit(emulator);
  customer = await chat.customer();
});
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});
afterAll(() => emulator.close());

const SIGV4 = {
  authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/connect/aws4_request',
};

interface RawResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function raw(
  method: string,
  path: string,
  body?: string | Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const response = await fetch(`${emulator.endpoint}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
}

const acps = (path: string, body: string | Record<string, unknown>, token = customer.token) =>
  raw('POST', path, body, { 'x-amz-bearer': token });

/** Asserts a complete restJson1 error. */
function expectError(response: RawResponse, status: number, type: string): void {
  expect(response.status).toBe(status);
  expect(response.headers.get('x-amzn-errortype')).toBe(type);
  expect(response.headers.get('x-amzn-requestid')).toMatch(/\S/);
  expect(response.headers.get('content-type')).toBe('application/json');
  expect(response.body).toMatchObject({
    __type: type,
    message: expect.any(String),
    Message: expect.any(String),
  });
  expect(response.body.message).toBe(response.body.Message);
}

const startChatBody = (overrides: Record<string, unknown> = {}) => ({
  InstanceId: emulator.instanceId,
  ContactFlowId: emulator.contactFlowId,
  ParticipantDetails: { DisplayName: 'Customer' },
  ...overrides,
});

describe('HTTP', () => {
  it('answers malformed JSON with 400 SerializationException', async () => {
    expectError(
      await acps('/participant/message', '{"ContentType":"text/plain",'),
      400,
      'SerializationException',
    );
    expectError(await acps('/participant/message', '[1,2,3]'), 400, 'SerializationException');
    expectError(await raw('PUT', '/contact/chat', '{not json', SIGV4), 400, 'SerializationException');
  });

  it('answers missing required fields with the service validation error', async () => {
    expectError(
      await acps('/participant/message', { ContentType: 'text/plain' }),
      400,
      'ValidationException',
    );
    expectError(await acps('/participant/message', { Content: 'hi' }), 400, 'ValidationException');
    expectError(await acps('/participant/event', {}), 400, 'ValidationException');
    expectError(
      await acps('/participant/connection', {}, customer.participantToken),
      400,
      'ValidationException',
    );
    const noDetails = startChatBody();
    delete (noDetails as Record<string, unknown>).ParticipantDetails;
    expectError(await raw('PUT', '/contact/chat', noDetails, SIGV4), 400, 'InvalidParameterException');
    expectError(
      await raw('PUT', '/contact/chat', startChatBody({ ParticipantDetails: {} }), SIGV4),
      400,
      'InvalidParameterException',
    );
    expectError(
      await raw('POST', '/contact/attributes', { InstanceId: emulator.instanceId }, SIGV4),
      400,
      'InvalidParameterException',
    );
  });

  it('answers oversize fields with the service validation error', async () => {
    const name = (length: number) => ({ ParticipantDetails: { DisplayName: 'x'.repeat(length) } });
    expect((await raw('PUT', '/contact/chat', startChatBody(name(256)), SIGV4)).status).toBe(200);
    expectError(
      await raw('PUT', '/contact/chat', startChatBody(name(257)), SIGV4),
      400,
      'InvalidParameterException',
    );

    const message = (contentType: string, length: number) =>
      acps('/participant/message', { ContentType: contentType, Content: 'x'.repeat(length) });
    expect((await message('text/plain', 1024)).status).toBe(200);
    expectError(await message('text/plain', 1025), 400, 'ValidationException');
    expect((await message('application/json', 12000)).status).toBe(200);
    expectError(await message('application/json', 12001), 400, 'ValidationException');

    const big = { big: 'x'.repeat(32 * 1024) };
    expectError(
      await raw('PUT', '/contact/chat', startChatBody({ Attributes: big }), SIGV4),
      400,
      'InvalidParameterException',
    );
    expectError(
      await raw(
        'POST',
        '/contact/attributes',
        { InstanceId: emulator.instanceId, InitialContactId: customer.contactId, Attributes: big },
        SIGV4,
      ),
      400,
      'InvalidParameterException',
    );
    expectError(
      await acps('/participant/message', {
        ContentType: 'text/plain',
        Content: 'x',
        ClientToken: 'c'.repeat(501),
      }),
      400,
      'ValidationException',
    );
  });

  it('refuses a body over 1 MiB with 413', async () => {
    const huge = JSON.stringify({ ContentType: 'text/plain', Content: 'x'.repeat(1024 * 1024) });
    const response = await acps('/participant/message', huge);
    expect(response.status).toBe(413);
    expect(response.headers.get('x-amzn-errortype')).toBe('RequestEntityTooLargeException');

    // Without a Content-Length (chunked), the limit holds while streaming.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(`${emulator.endpoint}/participant/message`, {
        method: 'POST',
        headers: { 'x-amz-bearer': customer.token, 'content-type': 'application/json' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      for (let i = 0; i < 17; i++) req.write('x'.repeat(64 * 1024));
      req.end();
    });
    expect(chunked).toBe(413);
  });

  it('answers unknown routes with 404 UnknownOperationException', async () => {
    expectError(await acps('/participant/nope', {}), 404, 'UnknownOperationException');
    expectError(await raw('GET', '/'), 404, 'UnknownOperationException');
    // A known path with the wrong method is unknown too.
    expectError(await raw('GET', '/participant/message'), 404, 'UnknownOperationException');
  });

  it('answers a request target it cannot decode with 400, and goes on serving (it used to crash)', async () => {
    // A path label that is not valid percent-encoding, on an API route and on a control route.
    const label = `/contacts/${emulator.instanceId}/%E0%A4%A`;
    expectError(await raw('GET', label, undefined, SIGV4), 400, 'SerializationException');
    expect((await raw('GET', '/_emulator/contacts/%E0%A4%A')).status).toBe(400);
    // A target that is no URL at all, as an API request and as a websocket upgrade.
    expect(await statusLine('GET //[ HTTP/1.1\r\nHost: x\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request');
    expect(
      await statusLine(
        'GET //[ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      ),
    ).toBe('HTTP/1.1 400 Bad Request');
    await expect(chat.customer()).resolves.toMatchObject({ contactId: expect.any(String) });
  });

  it('refuses requests without credentials with 403', async () => {
    expectError(
      await raw('PUT', '/contact/chat', startChatBody()),
      403,
      'MissingAuthenticationTokenException',
    );
    expectError(
      await raw('POST', '/participant/message', { ContentType: 'text/plain', Content: 'x' }),
      403,
      'AccessDeniedException',
    );
    expectError(
      await acps('/participant/message', { ContentType: 'text/plain', Content: 'x' }, 'bogus'),
      403,
      'AccessDeniedException',
    );
  });
});

/** Sends raw bytes to the emulator and resolves with the answer's status line. */
function statusLine(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(emulator.port, '127.0.0.1');
    let data = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer in 5 s')));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n');
      if (end >= 0) {
        socket.destroy();
        resolve(data.slice(0, end));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(data || 'closed'));
    socket.write(text);
  });
}

describe('websocket', () => {
  async function open(url: string): Promise<TestSocket> {
    const socket = await TestSocket.subscribed(url);
    sockets.push(socket);
    return socket;
  }

  it('answers garbage frames with a gateway error frame and keeps every socket working', async () => {
    const target = await chat.customer();
    const bot = await chat.bot(target.contactId);
    const socket = await open(target.url);
    const other = await open(bot.url);
    const [info] = emulator.sockets(target.participantId);

    const garbage: Array<string | Buffer> = [
      'hello there',
      '{"topic":',
      JSON.stringify({ topic: 'aws/unknown', content: {} }),
      JSON.stringify(['aws/subscribe']),
      Buffer.from([0x01, 0x02, 0x03]),
      JSON.stringify({ topic: 'aws/heartbeat', pad: 'x'.repeat(200 * 1024) }),
    ];
    for (const frame of garbage) {
      const from = socket.frames.length;
      socket.ws.send(frame);
      const error = await socket.next(() => true, 5000, from);
      expect(error).toEqual({
        message: expect.any(String),
        connectionId: info!.connectionId,
        requestId: expect.any(String),
      });
      expect(error.topic).toBeUndefined();
    }
    expect(socket.closed).toBeUndefined();

    // The socket still works, and so does the other participant's.
    socket.send({ topic: 'aws/heartbeat' });
    await socket.next((f) => f.topic === 'aws/heartbeat');
    const sent = await chat.send(bot.token, 'still here');
    await socket.nextItem((item) => item.Id === sent.Id);
    await other.nextItem((item) => item.Id === sent.Id);
  });

  it('closes a socket that sends a frame over 1 MiB with 1009, and only that socket', async () => {
    const target = await chat.customer();
    const bot = await chat.bot(target.contactId);
    const socket = await open(target.url);
    const other = await open(bot.url);
    socket.ws.send(JSON.stringify({ topic: 'aws/heartbeat', pad: 'x'.repeat(1024 * 1024) }));
    expect(await socket.waitClosed()).toMatchObject({ code: 1009 });
    const sent = await chat.send(bot.token, 'the other socket still delivers');
    await other.nextItem((item) => item.Id === sent.Id);
  });

  it('accepts the iOS subscribe frame with trailing garbage', async () => {
    const target = await chat.customer();
    const socket = await TestSocket.open(target.url);
    sockets.push(socket);
    socket.send('{"topic":"aws/subscribe","content":{"topics":["aws/chat"]}})');
    expect(await socket.next((f) => f.topic === 'aws/subscribe')).toEqual({
      topic: 'aws/subscribe',
      content: { status: 'success', topics: ['aws/chat'] },
    });
    const sent = await chat.send(target.token, 'pushed after the odd subscribe');
    await socket.nextItem((item) => item.Id === sent.Id);
  });

  it('refuses an upgrade with a bad AuthToken or path with 403', async () => {
    const url = new URL(customer.url);
    url.searchParams.set('AuthToken', 'bogus');
    expect((await rejection(TestSocket.open(url.href))).message).toContain('403');
    const wrongPath = new URL(customer.url);
    wrongPath.pathname = '/elsewhere';
    expect((await rejection(TestSocket.open(wrongPath.href))).message).toContain('403');
    url.search = '';
    expect((await rejection(TestSocket.open(url.href))).message).toContain('403');
  });
});
