import { execFileSync, spawn } from 'node:child_process';
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
  script = 'bench/held-chats.ts',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
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
      'emulator send → message p99 ≤ 5 ms',
    ]);
    for (const row of written.targets)
      expect(row.results).toMatchObject([{ n: 100, pass: expect.any(Boolean) }]);
  }, 180_000);
});

describe('npm run bench:ab', () => {
  const tiny = ['--n', '30', '--rate', '300', '--windows', '2', '--load-s', '1', '--idle-s', '1'];
  const row = /^\s+\d+\s+\d+\.\d+\s+\d+\.\d+\s+-?\d+\.\d+\s+\d+\.\d+\s/gm;

  it('pairs the session code with the client that only reads its sockets (--base raw)', async () => {
    const { code, stdout, stderr } = await runBench(['--base', 'raw', ...tiny], 120_000, 'bench/ab.ts');
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/raw: 30 chats open/);
    expect(stdout).toMatch(/window\s+raw\s+work\s+work − raw/);
    expect(stdout.match(row)).toHaveLength(2);
    expect(stdout).toMatch(/median work − raw: -?[\d.]+ µs\/msg/);
  }, 150_000);

  // Needs a git checkout (it checks HEAD out again); a copy of the tree without .git skips it.
  it.skipIf(!isGitCheckout())(
    'pairs the working tree with a commit in a temporary worktree, and removes it',
    async () => {
      const worktrees = () => execFileSync('git', ['worktree', 'list'], { encoding: 'utf8' });
      const before = worktrees();
      const { code, stdout, stderr } = await runBench(['--base', 'HEAD', ...tiny], 150_000, 'bench/ab.ts');
      expect(code, stderr).toBe(0);
      expect(stdout.match(row)).toHaveLength(2);
      expect(stdout).toMatch(/median work − base: -?[\d.]+ µs\/msg/);
      expect(worktrees()).toBe(before);
    },
    180_000,
  );

  it('refuses a base it cannot check out, with the reason', async () => {
    const { code, stderr } = await runBench(['--base', 'no-such-rev', ...tiny], 60_000, 'bench/ab.ts');
    expect(code).toBe(1);
    expect(stderr).toMatch(/--base no-such-rev: cannot check it out/);
  }, 90_000);
});

function isGitCheckout(): boolean {
  try {
    return (
      execFileSync('git', ['rev-parse', '--is-inside-work-tree'], { encoding: 'utf8' }).trim() === 'true'
    );
  } catch {
    return false;
  }
}

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
