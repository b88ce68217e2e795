import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `npm run demo` as a user meets it: the demo runs as a child process and only its output and exit code are looked at.
 * Runs are kept small with flags; every wait is for something the demo prints, never for a length of time.
 */
const root = resolve(__dirname, '..');
const demoCommand = [process.execPath, '--import', 'tsx', 'examples/demo.ts'];

const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
});

/** The demo as a child process, its output gathered as it comes. */
class Demo {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  /** The exit code, once the process has ended and its output is all read. */
  readonly exitCode: Promise<number | null>;

  constructor(args: string[], { terminal = false } = {}) {
    const command = [...demoCommand, ...args];
    // util-linux's `script` (Debian's essential bsdutils) runs the demo on a pseudo-terminal, where the bar draws.
    const child = terminal
      ? spawn('script', ['--quiet', '--flush', '--return', '--command', command.join(' '), '/dev/null'], {
          cwd: root,
          env: { ...process.env, SHELL: '/bin/sh' },
        })
      : spawn(command[0], command.slice(1), { cwd: root });
    this.child = child;
    running.add(child);
    child.stdout?.on('data', (chunk) => (this.stdout += chunk));
    child.stderr?.on('data', (chunk) => (this.stderr += chunk));
    this.exitCode = new Promise((exited) =>
      child.on('close', (code) => {
        running.delete(child);
        exited(code);
      }),
    );
  }

  /** Resolves once stdout matches `pattern`; rejects if the demo ends first. */
  printed(pattern: RegExp): Promise<void> {
    return new Promise((matched, failed) => {
      const check = () => {
        if (!pattern.test(this.stdout)) return;
        this.child.stdout?.off('data', check);
        matched();
      };
      this.child.stdout?.on('data', check);
      check();
      this.exitCode.then(() =>
        failed(new Error(`the demo ended before printing ${pattern}:\n${this.stdout}\n${this.stderr}`)),
      );
    });
  }
}

async function finished(args: string[]) {
  const demo = new Demo(args);
  return { code: await demo.exitCode, stdout: demo.stdout, stderr: demo.stderr };
}

const cancelledLine = /cancelled: (\d+) done, (\d+) cancelled/;

// Each test starts Node with tsx, which a busy machine slows many times over: a generous limit, not a speed check.
describe.concurrent('npm run demo', { timeout: 60_000 }, () => {
  it('prints every flag with its default for --help, and exits 0', async () => {
    const { code, stdout, stderr } = await finished(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/--items N\s.*\(default 300\)/);
    expect(stdout).toMatch(/--concurrency N\s.*\(default 64\)/);
    expect(stdout).toMatch(/--rate N\s.*\(default 150\)/);
    expect(stdout).toMatch(/--checkpoint FILE\s/);
    expect(stdout).toMatch(/--json\s/);
    expect(stderr).toBe('');
  });

  it('answers an unknown flag or a bad value with one line on stderr and exit code 2', async () => {
    const [unknownFlag, badValue, negative] = await Promise.all([
      finished(['--foo']),
      finished(['--items', 'many']),
      finished(['--concurrency', '-1']),
    ]);
    expect(unknownFlag).toEqual({ code: 2, stdout: '', stderr: 'demo: unknown flag --foo (try --help)\n' });
    expect(badValue).toEqual({
      code: 2,
      stdout: '',
      stderr: "demo: --items must be a positive integer, got 'many' (try --help)\n",
    });
    // Node's parser explains a value starting with a dash over three lines: the demo keeps the first.
    expect(negative).toEqual({
      code: 2,
      stdout: '',
      stderr: "demo: option '--concurrency' argument is ambiguous (try --help)\n",
    });
  });

  it('fails a 404 at once: one attempt, not retried', async () => {
    // Page 78 answers 404. Everything in flight at once and a loose rate limit keep the run short.
    const { code, stdout } = await finished(['--items', '80', '--concurrency', '80', '--rate', '1000', '--json']);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as { failures: { index: number; attempts: number; error: string }[] };
    const notFound = summary.failures.filter((failure) => failure.error.includes('HTTP 404'));
    expect(notFound.map((failure) => failure.index)).toEqual([78]);
    expect(notFound.map((failure) => failure.attempts)).toEqual([1]);
  });

  it('cancels on SIGINT: prints what was done and cancelled, exits 130', async () => {
    // At 20 starts a second, 100 items take seconds: the signal comes mid-run.
    const demo = new Demo(['--items', '100', '--rate', '20']);
    await demo.printed(/^progress 1\/100/m);
    demo.child.kill('SIGINT');
    expect(await demo.exitCode).toBe(130);
    const [, done, cancelled] = cancelledLine.exec(demo.stdout) ?? [];
    expect(Number(done) + Number(cancelled)).toBe(100);
    expect(Number(cancelled)).toBeGreaterThan(0);
    // Not a terminal: plain lines, no cursor codes in a log.
    expect(demo.stdout).not.toContain('\x1b[');
    expect(demo.stderr).toBe('');
  });

  it('on a terminal, Ctrl-C stops the progress bar and shows the cursor again', async () => {
    const demo = new Demo(['--items', '100', '--rate', '20'], { terminal: true });
    await demo.printed(/\| [1-9]\d*\/100 \|/); // the bar has drawn a finished item
    demo.child.stdin?.write('\x03'); // Ctrl-C typed on the terminal: SIGINT to the demo
    expect(await demo.exitCode).toBe(130);
    const hideCursor = demo.stdout.lastIndexOf('\x1b[?25l');
    expect(hideCursor).toBeGreaterThanOrEqual(0);
    expect(demo.stdout.lastIndexOf('\x1b[?25h')).toBeGreaterThan(hideCursor);
    expect(demo.stdout).toMatch(cancelledLine);
  });
});
