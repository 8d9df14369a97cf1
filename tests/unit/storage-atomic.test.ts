/** Storage is truthful: a batch lands whole or not at all, and a failed import leaves memory and store as they were. */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { MemoryRankingStore } from '../../src/lib/session/rankingStore';
import { RankingFlow, type RankingFlowHost } from '../../src/lib/session/rankingFlow';
import { idbKeys, idbPutMany, StorageError, storageError } from '../../src/lib/storage/idb';
import type { Ranking } from '../../src/lib/rlhf/rankings';
import { rankingsToJsonl } from '../../src/lib/rlhf/rankings';

function ranking(i: number): Ranking {
  return { id: `r${i}`, prompt: `prompt ${i}`, completions: ['a', 'b', 'c'], order: [2, 0, 1], createdAt: i, source: 'user' };
}

/** A store that fills up after `room` rankings, as a quota would: the batch that does not fit is refused whole. */
class FullStore extends MemoryRankingStore {
  constructor(private room: number) {
    super();
  }
  override async putRankings(rankings: readonly Ranking[]): Promise<void> {
    if (rankings.length > this.room) throw storageError({ name: 'QuotaExceededError', message: 'quota exceeded' });
    this.room -= rankings.length;
    return super.putRankings(rankings);
  }
}

const host = { onCounters: () => {}, reward: () => null, liveLearners: () => [], prompts: [] } as unknown as RankingFlowHost;

describe('IndexedDB batches', () => {
  it('writes a batch in one transaction: a failing entry keeps none of them', async () => {
    await idbPutMany('rankings', [['ok1', { a: 1 }]]);
    await expect(
      idbPutMany('rankings', [
        ['ok2', { a: 2 }],
        ['bad', () => 1],
      ]),
    ).rejects.toBeInstanceOf(StorageError);
    expect(await idbKeys('rankings')).toEqual(['ok1']);
  });

  it('names the cause of a failure', () => {
    expect(storageError({ name: 'QuotaExceededError', message: '' }).kind).toBe('quota');
    expect(storageError({ name: 'QuotaExceededError', message: '' }).message).toMatch(/storage for this site is full/);
    expect(storageError({ name: 'InvalidStateError', message: 'x' }).kind).toBe('unavailable');
    expect(storageError(null).message).toMatch(/no reason given/);
  });
});

describe('RankingFlow import on a full store', () => {
  it('refuses the whole file, says why and what was kept, and memory still matches the store', async () => {
    const store = new FullStore(5);
    const flow = new RankingFlow(host, store);
    const first = await flow.import(rankingsToJsonl([1, 2, 3].map(ranking)));
    expect(first.added).toBe(3);
    const big = rankingsToJsonl(Array.from({ length: 20 }, (_, i) => ranking(100 + i)));
    await expect(flow.import(big)).rejects.toThrow(
      /storage for this site is full.*None of its 20 new rankings were kept; you still have the 3/,
    );
    expect(flow.counters().rankings).toBe(3);
    expect((await store.loadRankings()).map((r) => r.id)).toEqual(flow.rankings.map((r) => r.id));
  });

  it('a refused clear deletes nothing and says so', async () => {
    const store = new MemoryRankingStore();
    store.clearRankings = () => Promise.reject(new StorageError('blocked'));
    const flow = new RankingFlow(host, store);
    await flow.import(rankingsToJsonl([ranking(1)]));
    await expect(flow.clear()).rejects.toThrow(/another tab.*Nothing was deleted: you still have 1 rankings/);
    expect(flow.counters().rankings).toBe(1);
  });
});
