// The harness's own waits: a daemon that dies while it is awaited is reported
// at once, with how it ended and its last words, not after the wait's timeout.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { waitUntil } from '../../e2e/lib/kube.js';
import { processGone, tailOf, track, waitFor } from './lib/proc.js';

function dyingDaemon(): ReturnType<typeof spawn> {
  return track(spawn('sh', ['-c', 'sleep 0.2; echo "bind: address already in use" >&2; exit 3'], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

describe('harness waits', () => {
  it('waitFor ends when the awaited process exits, well before its timeout', async () => {
    const child = dyingDaemon();
    const tail = tailOf(child);
    const started = Date.now();
    const err = await waitFor('a port that never opens', async () => false, 20_000, 50, child).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const took = Date.now() - started;
    expect(err?.message).to.equal('the process exited (code 3) while waiting for a port that never opens');
    expect(took).to.be.below(5_000);
    // The output streams are closed by then: the tail holds the last words.
    expect(tail()).to.include('address already in use');
  });

  it('waitFor still succeeds while the process runs, and a failing check counts as not yet', async () => {
    const child = track(spawn('sleep', ['5'], { stdio: 'ignore' }));
    let calls = 0;
    await waitFor(
      'the third check',
      async () => {
        calls++;
        if (calls < 2) throw new Error('not listening yet');
        return calls >= 3;
      },
      5_000,
      10,
      child,
    );
    expect(calls).to.equal(3);
    child.kill('SIGKILL');
  });

  it('processGone reports a process that is already gone, and how it ended', async () => {
    const child = track(spawn('sh', ['-c', 'kill -9 $$'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    await new Promise((r) => child.once('exit', r));
    expect(await processGone(child)).to.equal('was killed by SIGKILL');
  });

  it('the e2e waitUntil ends when the awaited process exits', async () => {
    const child = dyingDaemon();
    const started = Date.now();
    const err = await waitUntil('a registry to listen', () => undefined, { timeoutMs: 20_000, intervalMs: 50, process: child }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.equal('the process exited (code 3) while waiting for a registry to listen');
    expect(Date.now() - started).to.be.below(5_000);
  });
});
