// A short run of the classroom load test (scripts/classroom-load.ts): 60 simulated students through the real sync
// server and the real lecturer host, a few seconds at a fast "human" pace and a few flat out. Generous bounds:
// this checks that nothing is lost, duplicated or stuck, not the machine's speed.
import { expect, it } from 'vitest';
import { runLoad } from '../../scripts/classroom-load';

it('60 simulated students: every ranking arrives once, latency stays bounded', async () => {
  const result = await runLoad({ students: 60, humanSeconds: 4, humanIntervalMs: 3000, fastSeconds: 2, spawnServer: false, log: () => {} });
  expect(result.duplicates).toBe(0);
  expect(result.refused).toBe(0);
  expect(result.human.rankings).toBeGreaterThanOrEqual(60);
  expect(result.fast.rankings).toBeGreaterThan(0);
  expect(result.human.latencyP95Ms).not.toBeNull();
  expect(result.human.latencyP95Ms!).toBeLessThan(10_000);
  expect(result.fast.latencyP95Ms!).toBeLessThan(20_000);
  console.log(
    `classroom load: human ${result.human.perSecond.toFixed(1)}/s p95 ${result.human.latencyP95Ms} ms; fast ${result.fast.perSecond.toFixed(1)}/s p95 ${result.fast.latencyP95Ms} ms`,
  );
}, 120_000);
