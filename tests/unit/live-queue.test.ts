import { describe, expect, it } from 'vitest';
import { RewardApplier } from '../../src/lib/session/rewardApplier';
import { isFresh, TaskQueue } from '../../src/lib/session/taskQueue';

const task = (id: string, version: number, k = 4) => ({ id, version, completions: new Array<string>(k).fill('') });

describe('TaskQueue: the newest policy first, stale tasks give way, a new lineage discards', () => {
  it('serves the newest version first, whatever the order of arrival', () => {
    const q = new TaskQueue<ReturnType<typeof task>>(3);
    q.add(task('a', 3));
    q.add(task('b', 5));
    q.add(task('c', 4));
    expect(q.list().map((t) => t.id)).toEqual(['b', 'c', 'a']);
    expect(q.take(4, 5)?.id).toBe('b');
  });

  it('keeps the later arrival first among equal versions and drops the oldest beyond capacity', () => {
    const q = new TaskQueue<ReturnType<typeof task>>(2);
    q.add(task('a', 1));
    q.add(task('b', 2));
    q.add(task('c', 2));
    expect(q.list().map((t) => t.id)).toEqual(['c', 'b']);
  });

  it('a task more than one version behind gives way when a fresher one of the same K exists', () => {
    expect(isFresh(task('x', 4), 5)).toBe(true);
    expect(isFresh(task('x', 3), 5)).toBe(false);
    const q = new TaskQueue<ReturnType<typeof task>>(4);
    q.add(task('old', 1));
    q.add(task('old-k3', 1, 3));
    q.add(task('new', 5));
    q.prune(5);
    // the stale K=4 task went; the stale K=3 one stays: nothing fresher of its K exists
    expect(q.list().map((t) => t.id)).toEqual(['new', 'old-k3']);
    expect(q.freshCount(5)).toBe(1);
  });

  it('serves a stale task when it is the only one of its K (better than making the person wait)', () => {
    const q = new TaskQueue<ReturnType<typeof task>>(2);
    q.add(task('old', 1, 3));
    expect(q.take(4, 9)).toBeNull();
    expect(q.take(3, 9)?.id).toBe('old');
  });

  it('discards everything sampled before a new lineage (e.g. SFT finished)', () => {
    const q = new TaskQueue<ReturnType<typeof task>>(3);
    q.add(task('pre-sft', 2));
    q.add(task('during-sft', 7));
    q.discardBefore(8);
    expect(q.length).toBe(0);
  });
});

/** A host whose updates are counted and whose background work runs when the test says. */
function harness() {
  const applied: string[][] = [];
  let deferred: (() => void)[] = [];
  const state = { rewardExists: true, inUse: false, runWaiting: false, stopAfter: Infinity };
  let release: (() => void) | null = null;
  let gate: Promise<void> | null = null;
  const applier = new RewardApplier<string>({
    canApply: (atBoundary) => state.rewardExists && (atBoundary || !state.inUse),
    apply: async (batch, stop) => {
      applied.push(batch);
      if (gate) await gate;
      // an update of more than stopAfter rankings stops part-way when asked
      return !(batch.length > state.stopAfter && stop());
    },
    yieldTo: () => state.runWaiting,
    onError: (err) => {
      throw err;
    },
    defer: (work) => deferred.push(work),
  });
  const runDeferred = async () => {
    const now = deferred;
    deferred = [];
    now.forEach((w) => w());
    await applier.settled();
  };
  const hold = () => (gate = new Promise<void>((r) => (release = r)));
  const letGo = () => {
    gate = null;
    release?.();
  };
  return { applier, applied, state, runDeferred, hold, letGo, deferredCount: () => deferred.length };
}

describe('RewardApplier: a submit never waits; rankings are coalesced into one update', () => {
  it('enqueue returns at once; the update runs later, in the background', async () => {
    const h = harness();
    h.applier.enqueue(['r1']);
    expect(h.applied).toEqual([]);
    expect(h.applier.pending).toBe(1);
    await h.runDeferred();
    expect(h.applied).toEqual([['r1']]);
    expect(h.applier.pending).toBe(0);
  });

  it('rankings that arrive while an update runs are coalesced into the next one', async () => {
    const h = harness();
    h.hold();
    h.applier.enqueue(['r1']);
    const deferred = h.runDeferred();
    await Promise.resolve();
    await new Promise((r) => setTimeout(r, 0));
    h.applier.enqueue(['r2']);
    h.applier.enqueue(['r3', 'r4']);
    expect(h.applier.pending).toBe(3);
    h.letGo();
    await deferred;
    expect(h.applied).toEqual([['r1'], ['r2', 'r3', 'r4']]);
  });

  it('while a stage reads the reward model, rankings wait for its step boundary, then go in one update', async () => {
    const h = harness();
    h.state.inUse = true;
    h.applier.enqueue(['r1']);
    h.applier.enqueue(['r2']);
    await h.runDeferred();
    expect(h.applied).toEqual([]);
    expect(await h.applier.applyNow()).toBe(2);
    expect(h.applied).toEqual([['r1', 'r2']]);
  });

  it('kick() after the stage stops applies what waited; drop() forgets it', async () => {
    const h = harness();
    h.state.inUse = true;
    h.applier.enqueue(['r1']);
    await h.runDeferred();
    h.state.inUse = false;
    h.applier.kick();
    await h.runDeferred();
    expect(h.applied).toEqual([['r1']]);
    h.state.inUse = true;
    h.applier.enqueue(['r2']);
    h.applier.drop();
    expect(await h.applier.applyNow()).toBe(0);
  });

  it('nothing is applied without a reward model; the rankings stay queued', async () => {
    const h = harness();
    h.state.rewardExists = false;
    h.applier.enqueue(['r1']);
    await h.runDeferred();
    expect(h.applied).toEqual([]);
    expect(h.applier.pending).toBe(1);
  });

  it('an update stopped part-way at a boundary queues its rankings again, first, for the next one', async () => {
    const h = harness();
    h.state.inUse = true;
    h.state.stopAfter = 1;
    h.applier.enqueue(['r1', 'r2']);
    expect(await h.applier.applyNow(() => true)).toBe(0);
    expect(h.applier.pending).toBe(2);
    h.applier.enqueue(['r3']);
    expect(await h.applier.applyNow()).toBe(3);
    expect(h.applied.at(-1)).toEqual(['r1', 'r2', 'r3']);
    // dropped while it ran: nothing comes back
    h.hold();
    h.applier.enqueue(['r4', 'r5']);
    const cut = h.applier.applyNow(() => true);
    await new Promise((r) => setTimeout(r, 0));
    h.applier.drop();
    h.letGo();
    expect(await cut).toBe(0);
    expect(h.applier.pending).toBe(0);
  });

  it('a background update gives way to a stage waiting to start, and none begins while one waits', async () => {
    const h = harness();
    h.state.stopAfter = 1;
    h.hold();
    h.applier.enqueue(['r1', 'r2']);
    const deferred = h.runDeferred();
    await new Promise((r) => setTimeout(r, 0));
    h.state.runWaiting = true;
    h.letGo();
    await deferred;
    expect(h.applier.pending).toBe(2); // stopped part-way: they wait for the stage's boundary
    h.applier.kick();
    await h.runDeferred();
    expect(h.applied).toHaveLength(1);
  });
});
