import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ResourceNotFoundException, StartChatContactCommand } from '@aws-sdk/client-connect';
import { afterEach, describe, expect, it } from 'vitest';
import { rejection, statusOf } from '../support/chat.js';
import { sdkClients } from '../support/sdk.js';
import { waitUntil } from '../support/wait.js';

// `connect-bot emulator`: exactly one JSON line on stdout when ready, logs on stderr, clean exit on SIGTERM.

const BIN = fileURLToPath(new URL('../../bin/connect-bot.js', import.meta.url));

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  ready: { endpoint: string; region: string; instanceId: string; contactFlowId: string };
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function run(args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  return { child, stdout: () => stdout, stderr: () => stderr };
}

async function startCli(args: string[] = []): Promise<Running> {
  const running = run(['emulator', '--port', '0', ...args]);
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ready line within 20 s; stderr: ${running.stderr()}`)),
      20_000,
    );
    const check = () => {
      const newline = running.stdout().indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      resolve(running.stdout().slice(0, newline));
    };
    running.child.stdout!.on('data', check);
    running.child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}; stderr: ${running.stderr()}`));
    });
  });
  return { ...running, ready: JSON.parse(line) };
}

async function exitCode(child: ChildProcess, timeoutMs = 10_000): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return code;
}

describe('connect-bot emulator', () => {
  it('prints one ready line, serves the SDK, logs to stderr and exits 0 on SIGTERM', async () => {
    const cli = await startCli();
    expect(Object.keys(cli.ready).sort()).toEqual(['contactFlowId', 'endpoint', 'instanceId', 'region']);
    expect(cli.ready.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(cli.ready.region).toBe('us-east-1');
    expect(cli.ready.instanceId).toMatch(/\S/);
    expect(cli.ready.contactFlowId).toMatch(/\S/);

    const { connect } = sdkClients(cli.ready.endpoint, cli.ready.region);
    const started = await connect.send(
      new StartChatContactCommand({
        InstanceId: cli.ready.instanceId,
        ContactFlowId: cli.ready.contactFlowId,
        ParticipantDetails: { DisplayName: 'Customer' },
      }),
    );
    expect(started.ContactId).toBeTruthy();
    const unknown = await rejection(
      connect.send(
        new StartChatContactCommand({
          InstanceId: '00000000-0000-4000-8000-000000000000',
          ContactFlowId: cli.ready.contactFlowId,
          ParticipantDetails: { DisplayName: 'Customer' },
        }),
      ),
    );
    expect(unknown).toBeInstanceOf(ResourceNotFoundException);
    expect(statusOf(unknown)).toBe(404);

    cli.child.kill('SIGTERM');
    expect(await exitCode(cli.child)).toBe(0);
    expect(cli.stdout()).toBe(`${JSON.stringify(cli.ready)}\n`);
    expect(cli.stderr()).toContain(cli.ready.endpoint);
  });

  it('posts the flow event to --on-chat-start with the secret', async () => {
    const received: IncomingHttpHeaders[] = [];
    const host = createServer((req, res) => {
      received.push(req.headers);
      req.resume();
      req.on('end', () => res.writeHead(200).end('{"status":"success"}'));
    });
    host.listen(0, '127.0.0.1');
    await once(host, 'listening');
    try {
      const url = `http://127.0.0.1:${(host.address() as AddressInfo).port}/join`;
      const cli = await startCli(['--on-chat-start', url, '--on-chat-start-secret', 'sh']);
      const { connect } = sdkClients(cli.ready.endpoint, cli.ready.region);
      const started = await connect.send(
        new StartChatContactCommand({
          InstanceId: cli.ready.instanceId,
          ContactFlowId: cli.ready.contactFlowId,
          ParticipantDetails: { DisplayName: 'Customer' },
        }),
      );
      expect(started.ContactId).toBeTruthy();
      const headers = await waitUntil(() => received[0], 'the flow event', 5000);
      expect(headers.authorization).toBe('Bearer sh');
      cli.child.kill('SIGINT');
      expect(await exitCode(cli.child)).toBe(0);
    } finally {
      host.closeAllConnections();
      host.close();
    }
  });

  it('exits 2 on a bad --port', async () => {
    const cli = run(['emulator', '--port', 'abc']);
    expect(await exitCode(cli.child)).toBe(2);
    expect(cli.stdout()).toBe('');
    expect(cli.stderr()).toContain('--port');
  });
});
