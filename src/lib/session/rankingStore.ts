/**
 * Where rankings and demonstrations are kept between visits. The ranking flow talks only to this
 * interface: IndexedDB in the browser, memory in tests and when storage is off; a classroom sync
 * layer can plug in here too.
 */
import type { Ranking } from '../rlhf/rankings';
import type { Demonstration } from '../rlhf/sft';
import { idbClear, idbProbe, idbPut, idbPutMany, idbValues, type StorageError } from '../storage/idb';

export interface RankingStore {
  /** Whether what is written outlives the page. */
  readonly persistent: boolean;
  loadRankings(): Promise<Ranking[]>;
  loadDemonstrations(): Promise<Demonstration[]>;
  putRankings(rankings: readonly Ranking[]): Promise<void>;
  putDemonstration(id: string, demonstration: Demonstration): Promise<void>;
  clearRankings(): Promise<void>;
}

export class IdbRankingStore implements RankingStore {
  readonly persistent = true;

  async loadRankings(): Promise<Ranking[]> {
    return (await idbValues<Ranking>('rankings')).sort((a, b) => a.createdAt - b.createdAt);
  }

  loadDemonstrations(): Promise<Demonstration[]> {
    return idbValues<Demonstration>('demonstrations');
  }

  /** One transaction: every ranking is kept, or none is. */
  putRankings(rankings: readonly Ranking[]): Promise<void> {
    return idbPutMany(
      'rankings',
      rankings.map((r) => [r.id, r] as const),
    );
  }

  putDemonstration(id: string, demonstration: Demonstration): Promise<void> {
    return idbPut('demonstrations', id, demonstration);
  }

  clearRankings(): Promise<void> {
    return idbClear('rankings');
  }
}

export class MemoryRankingStore implements RankingStore {
  readonly persistent = false;
  private readonly rankings = new Map<string, Ranking>();
  private readonly demonstrations = new Map<string, Demonstration>();

  async loadRankings(): Promise<Ranking[]> {
    return [...this.rankings.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  async loadDemonstrations(): Promise<Demonstration[]> {
    return [...this.demonstrations.values()];
  }

  async putRankings(rankings: readonly Ranking[]): Promise<void> {
    for (const r of rankings) this.rankings.set(r.id, r);
  }

  async putDemonstration(id: string, demonstration: Demonstration): Promise<void> {
    this.demonstrations.set(id, demonstration);
  }

  async clearRankings(): Promise<void> {
    this.rankings.clear();
  }
}

/** IndexedDB where the platform has it, else memory. */
export function defaultRankingStore(): RankingStore {
  return typeof indexedDB !== 'undefined' ? new IdbRankingStore() : new MemoryRankingStore();
}

/** IndexedDB when it opens, else memory with the reason it did not (the app then runs with persistence off). */
export async function openRankingStore(): Promise<{ store: RankingStore; problem: StorageError | null }> {
  const problem = await idbProbe();
  return { store: problem ? new MemoryRankingStore() : new IdbRankingStore(), problem };
}
