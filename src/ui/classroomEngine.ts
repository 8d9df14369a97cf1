/** The classroom's view of the engine: tasks from the current policy go out to students, their rankings come back into the session. */
import type { ClassroomEngine } from '../classroom/host';
import { engine } from './engine.svelte';

function api() {
  if (!engine.api) throw new Error('The engine is not running.');
  return engine.api;
}

export const classroomEngine: ClassroomEngine = {
  nextTask: (k) => api().classroomTask(k),
  submitRanking: async ({ ranking }) => {
    await api().addRanking(ranking);
  },
  rewardAccuracy: () => engine.counters?.heldOut?.accuracy ?? null,
};
