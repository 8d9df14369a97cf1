/**
 * The prompt mix as a setting (issue 24, item 6): one spec gives its default (the paper's Table 1, TASK_MIX), its checks
 * and its place in the address; SFT's demonstrations follow it, and the stories alone are the stream from before.
 */
import { describe, expect, it } from 'vitest';
import { TASK_FAMILIES, type TaskFamily } from '../../src/lib/data/tasks/families';
import { mixOfSetting, STORIES_ONLY, TASK_MIX, TASK_MIX_SETTING } from '../../src/lib/data/tasks/mix';
import { generateDemonstrations } from '../../src/lib/data/world';
import { builtInDemonstrations, SFT_DEFAULTS } from '../../src/lib/rlhf/sft';
import { applySettings, readShares, settingError } from '../../src/lib/settings';
import { stageInfo } from '../../src/lib/stages/descriptor';
import { BUILT_IN_STAGES } from '../../src/lib/stages/registry';
import { parseUrlState, urlSearch } from '../../src/ui/urlState';

const stages = BUILT_IN_STAGES.map(stageInfo);
const sftSpecs = stages.find((s) => s.name === 'sft')!.settings;
const error = (text: unknown) => settingError(TASK_MIX_SETTING, text);

describe('the task mix setting', () => {
  it("defaults to the paper's Table 1 over the seven families, which is TASK_MIX", () => {
    expect(TASK_MIX_SETTING.parts.map((p) => p.id)).toEqual([...TASK_FAMILIES]);
    expect(SFT_DEFAULTS.task_mix).toBe(TASK_MIX_SETTING.default);
    expect(TASK_MIX_SETTING.default).toMatch(/^generation:45\.6,brainstorming:11\.2,.*extraction:1\.9$/);
    const mix = mixOfSetting(TASK_MIX_SETTING.default);
    for (const f of TASK_FAMILIES) expect(mix[f]).toBeCloseTo(TASK_MIX[f], 12);
    // every part has a label and an example prompt of its own family for the SFT panel's table
    expect(new Set(TASK_MIX_SETTING.parts.map((p) => p.note)).size).toBe(TASK_FAMILIES.length);
  });

  it('parses weights of any scale; families left out weigh 0', () => {
    expect(mixOfSetting('closed_qa:1')).toEqual({ ...zeros(), closed_qa: 1 });
    expect(mixOfSetting(' closed_qa : 3 , extraction:1 ')).toEqual({ ...zeros(), closed_qa: 0.75, extraction: 0.25 });
    expect(readShares(TASK_MIX_SETTING, 'rewrite:0,generation:2')).toEqual({ ...zeros(), generation: 2 });
    expect(error('generation:1,rewrite:0.5')).toBeNull();
  });

  it('refuses bad input with a message that says what is wrong', () => {
    expect(error('rewrite:-1')).toBe('Task mix: the weight of rewrite must be a number >= 0; got -1.');
    expect(error('rewrite:0,extraction:0')).toBe('Task mix needs at least one part with a weight above 0.');
    expect(error('')).toBe('Task mix needs at least one part with a weight above 0.');
    expect(error('chat:1')).toMatch(/^Task mix: there is no part "chat"; the parts are generation, brainstorming, /);
    expect(error('rewrite')).toBe('Task mix: "rewrite" is not part:weight (e.g. generation:1).');
    expect(error('rewrite:abc')).toBe('Task mix: the weight of rewrite must be a number >= 0; got abc.');
    expect(error('rewrite:1,rewrite:2')).toBe('Task mix: rewrite is named twice.');
    expect(error(3)).toMatch(/^Task mix must be text such as generation:45\.6/);
    expect(() => mixOfSetting('rewrite:-1')).toThrow(/rewrite must be a number >= 0/);
  });

  it('a refused mix changes nothing: the settings in use stay as they were', () => {
    const current = { ...SFT_DEFAULTS };
    expect(() => applySettings(sftSpecs, current, { task_mix: 'closed_qa:0', epochs: 2 })).toThrow(/at least one part/);
    expect(current.task_mix).toBe(TASK_MIX_SETTING.default);
    expect(applySettings(sftSpecs, current, { task_mix: 'closed_qa:1' }).task_mix).toBe('closed_qa:1');
  });

  it('travels in the address: written when it differs from the default, read back the same; a bad one named', () => {
    const search = urlSearch('?backend=wasm', 'sft', { sft: { task_mix: 'closed_qa:1,extraction:2' } }, stages);
    expect(search).toBe('?backend=wasm&stage=sft&sft.task_mix=closed_qa%3A1%2Cextraction%3A2');
    expect(parseUrlState(search, stages).settings).toEqual({ sft: { task_mix: 'closed_qa:1,extraction:2' } });
    expect(urlSearch('', 'sft', { sft: { task_mix: TASK_MIX_SETTING.default } }, stages)).toBe('?stage=sft');
    expect(parseUrlState('?sft.task_mix=closed_qa:1', stages).settings).toEqual({ sft: { task_mix: 'closed_qa:1' } });
    const bad = parseUrlState('?sft.task_mix=closed_qa:-2&sft.epochs=2', stages);
    expect(bad.settings).toEqual({ sft: { epochs: 2 } });
    expect(bad.errors).toEqual(['SFT: Task mix: the weight of closed_qa must be a number >= 0; got -2.']);
  });
});

describe("SFT's demonstrations follow the mix", () => {
  it('draws each family with its share (within 4 standard errors), and only the families the mix names', () => {
    const n = 2000;
    const { train } = builtInDemonstrations(21, n, 0, 'generation:1,closed_qa:1,extraction:2');
    const counts = countFamilies(train.map((d) => d.family));
    expect(Object.keys(counts).sort()).toEqual(['closed_qa', 'extraction', 'generation']);
    for (const [family, share] of [
      ['generation', 0.25],
      ['closed_qa', 0.25],
      ['extraction', 0.5],
    ] as const) {
      const sd = Math.sqrt((share * (1 - share)) / n);
      expect(Math.abs(counts[family]! / n - share)).toBeLessThan(4 * sd);
    }
    const defaults = countFamilies(builtInDemonstrations(22, n, 0, SFT_DEFAULTS.task_mix).train.map((d) => d.family));
    for (const f of TASK_FAMILIES) {
      const sd = Math.sqrt((TASK_MIX[f] * (1 - TASK_MIX[f])) / n);
      expect(Math.abs((defaults[f] ?? 0) / n - TASK_MIX[f])).toBeLessThan(4 * sd);
    }
  });

  it('closed QA alone gives closed QA only; the stories alone are the demonstrations from before the mix', () => {
    expect(new Set(builtInDemonstrations(5, 50, 10, 'closed_qa:1').train.map((d) => d.family))).toEqual(new Set(['closed_qa']));
    const stories = builtInDemonstrations(5, 30, 10, STORIES_ONLY);
    expect([...stories.train, ...stories.val].map(({ prompt, response }) => ({ prompt, response }))).toEqual(generateDemonstrations(5, 40));
    expect(builtInDemonstrations(5, 30, 10)).toEqual(stories); // the default of the function: the reward stage's normalising set
  });
});

function zeros(): Record<TaskFamily, number> {
  return Object.fromEntries(TASK_FAMILIES.map((f) => [f, 0])) as Record<TaskFamily, number>;
}

function countFamilies(families: TaskFamily[]): Partial<Record<TaskFamily, number>> {
  const counts: Partial<Record<TaskFamily, number>> = {};
  for (const f of families) counts[f] = (counts[f] ?? 0) + 1;
  return counts;
}
