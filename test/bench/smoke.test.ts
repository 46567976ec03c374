import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The benchmark's own smoke run (npm run bench:smoke), so `npm run bench` cannot rot unnoticed. Figures from a
// smoke run on a busy test machine mean nothing; what is checked is that every part of the machinery works.

const dir = mkdtempSync(join(tmpdir(), 'connect-bot-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runBench(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/held-chats.ts', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bench did not finish within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run bench:smoke', () => {
  it('holds the chats in both clients, delivers every message, prints ratios and writes the results', async () => {
    const out = join(dir, 'latest.json');
    const { code, stdout, stderr } = await runBench(['--smoke', '--n', '100', '--out', out], 150_000);
    expect(code, stderr).toBe(0);

    expect(stdout).toMatch(/ours\s+floor\s+ours\/floor/);
    expect(stdout).toContain('Targets (ours):');
    expect(stdout).toMatch(/heap per chat ≤ 12 KB\s+(PASS|MISS)/);

    const written = JSON.parse(readFileSync(out, 'utf8')) as {
      results: Array<{ n: number; ours: Run; floor: Run }>;
      targets: Array<{ target: string; results: Array<{ n: number; pass: boolean; value: string }> }>;
    };
    expect(written.results).toHaveLength(1);
    const [{ n, ours, floor }] = written.results as [{ n: number; ours: Run; floor: Run }];
    expect(n).toBe(100);
    for (const run of [ours, floor]) {
      expect(run.open).toMatchObject({ opened: 100, failed: 0 });
      expect(run.aliveAtEnd).toBe(100);
      expect(run.load.sent).toBeGreaterThan(0);
      expect(run.load.received).toBe(run.load.sent);
      expect(run.load.latencyMs.p99).toBeGreaterThan(0);
      expect(run.idle.wallMs).toBeGreaterThan(0);
    }
    // The paired phase: both clients in the same load window, every message of it received.
    expect(stdout).toMatch(
      /Paired windows, N = 100: CPU per inbound message ours [\d.]+ µs, floor [\d.]+ µs/,
    );
    const paired = (written.results[0] as { paired?: Paired }).paired!;
    expect(paired.windows).toHaveLength(1);
    const [window] = paired.windows as [Paired['windows'][number]];
    expect(window.received[0]).toBeGreaterThan(0);
    expect(window.received[1]).toBeGreaterThan(0);
    expect(paired.ratio).toBeCloseTo(window.ours / window.floor, 6);
    expect(window.gc[0]).toMatchObject({ minor: expect.any(Number), major: expect.any(Number) });
    expect(written.targets.map((t) => t.target)).toEqual([
      'heap per chat ≤ 12 KB',
      'RSS per chat ≤ 1.5× floor',
      'idle CPU, 10,000 chats (linear from N) ≤ 5 % of a core',
      'CPU per inbound message ≤ 10 µs',
      'inbound frame → message p99 ≤ 5 ms',
    ]);
    for (const row of written.targets)
      expect(row.results).toMatchObject([{ n: 100, pass: expect.any(Boolean) }]);
  }, 180_000);
});

interface Run {
  open: { opened: number; failed: number };
  aliveAtEnd: number;
  idle: { wallMs: number };
  load: { sent: number; received: number; latencyMs: { p99: number } };
}

interface Paired {
  ratio: number;
  windows: Array<{
    ours: number;
    floor: number;
    received: [number, number];
    gc: [{ minor: number; major: number }, { minor: number; major: number }];
  }>;
}
