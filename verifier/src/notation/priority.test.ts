// The one way both engines lower their child's priority (priority.ts), on real processes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { procStat } from '../../testkit/proc.js';
import { ChildSession, lowerPriority, lowPriorityCommand } from './priority.js';

/** The nice value of a process (field 19 of /proc/<pid>/stat). */
function niceOf(pid: number): number {
  return Number(procStat(pid).fields[16]);
}

describe('lowPriorityCommand', () => {
  it('runs the command through nice(1) when there is one; a session of its own gets the niceness too', () => {
    assert.deepEqual(lowPriorityCommand('/bin/notation', ['verify'], { niceness: 10, nicePath: '/usr/bin/nice' }, ChildSession.Own), {
      file: '/usr/bin/nice',
      args: ['-n', '10', '/bin/notation', 'verify'],
      viaNice: true,
      lowerBy: 0,
      sessionNiceness: 10,
    });
  });

  it("leaves the verifier's session alone for a child that stays in it (the helper)", () => {
    assert.deepEqual(lowPriorityCommand('/bin/helper', ['--libexec', '/x'], { niceness: 10, nicePath: '/usr/bin/nice' }, ChildSession.Shared), {
      file: '/usr/bin/nice',
      args: ['-n', '10', '/bin/helper', '--libexec', '/x'],
      viaNice: true,
      lowerBy: 0,
      sessionNiceness: 0,
    });
    assert.equal(lowPriorityCommand('/bin/helper', [], { niceness: 7, nicePath: undefined }, ChildSession.Shared).sessionNiceness, 0);
  });

  it('without nice(1), leaves the lowering to lowerPriority once there is a pid', () => {
    assert.deepEqual(lowPriorityCommand('/bin/notation', ['verify'], { niceness: 7, nicePath: undefined }, ChildSession.Own), {
      file: '/bin/notation',
      args: ['verify'],
      viaNice: false,
      lowerBy: 7,
      sessionNiceness: 7,
    });
  });

  it('niceness 0 starts the command as it is, even with nice(1)', () => {
    assert.deepEqual(lowPriorityCommand('/bin/notation', ['verify'], { niceness: 0, nicePath: '/usr/bin/nice' }, ChildSession.Own), {
      file: '/bin/notation',
      args: ['verify'],
      viaNice: false,
      lowerBy: 0,
      sessionNiceness: 0,
    });
  });
});

describe('lowerPriority', () => {
  it('adds to the priority of a running child, capped at 19; a gone process is no error', async () => {
    const base = getPriority();
    for (const [by, expected] of [
      [5, Math.min(19, base + 5)],
      [40, 19],
      [0, base],
    ] as const) {
      const child = spawn('sleep', ['30'], { stdio: 'ignore' });
      try {
        assert.ok(child.pid !== undefined);
        await lowerPriority(child.pid, { lowerBy: by, sessionNiceness: 0 });
        assert.equal(niceOf(child.pid), expected, `by ${by}`);
      } finally {
        child.kill('SIGKILL');
      }
      await new Promise((done) => child.once('close', done));
      await lowerPriority(child.pid ?? -1, { lowerBy: by, sessionNiceness: 3 });
    }
  });
});

/** The niceness of the session (autogroup) a process is in, from /proc/<pid>/autogroup ("/autogroup-N nice K"). */
function sessionNiceOf(pid: number): number {
  return Number(/ nice (-?\d+)$/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8').trim())?.[1]);
}

describe('lowerPriority, the session of a child that leads its own', () => {
  const autogroup = existsSync('/proc/self/autogroup');
  it(
    "gives the session the niceness, leaving the spawning process's session alone",
    { skip: autogroup ? false : 'this kernel does not group processes by session (no /proc/self/autogroup)' },
    async () => {
      const own = sessionNiceOf(process.pid);
      const child = spawn('sleep', ['30'], { stdio: 'ignore', detached: true });
      try {
        assert.ok(child.pid !== undefined);
        await lowerPriority(child.pid, { lowerBy: 0, sessionNiceness: 9 });
        assert.equal(sessionNiceOf(child.pid), 9);
        assert.equal(sessionNiceOf(process.pid), own);
        await lowerPriority(child.pid, { lowerBy: 0, sessionNiceness: 0 });
        assert.equal(sessionNiceOf(child.pid), 9, 'niceness 0 leaves it as it is');
      } finally {
        child.kill('SIGKILL');
      }
    },
  );
});
