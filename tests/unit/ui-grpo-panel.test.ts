/**
 * GRPO's panel and the settings form, rendered on the server: the panel says which reward GRPO maximises (its Reward
 * setting) and lists its latest completions with their rewards; a select whose options are longer than a grid column
 * holds (the Reward setting's instruction_following) takes two columns, a short one (PPO-ptx's k1 / k3) one.
 */
import { render } from 'svelte/server';
import { afterEach, describe, expect, it } from 'vitest';
import { stageInfo } from '../../src/lib/stages/descriptor';
import { BUILT_IN_STAGES } from '../../src/lib/stages/registry';
import { defaultsOf } from '../../src/lib/settings';
import type { EngineStatus, StageInfo } from '../../src/lib/types';
import GrpoPanel from '../../src/ui/GrpoPanel.svelte';
import SettingsForm from '../../src/ui/SettingsForm.svelte';
import { engine } from '../../src/ui/engine.svelte';

const stages = BUILT_IN_STAGES.map(stageInfo);
const info = (name: string) => stages.find((s) => s.name === name)!;

/** The engine's status as the UI holds it: every stage at its defaults, none started; GRPO's reward `reward`. */
function showStatus(reward: string): void {
  const settings = Object.fromEntries(stages.map((s: StageInfo) => [s.name, defaultsOf(s.settings)]));
  settings.grpo = { ...settings.grpo, reward };
  engine.status = {
    stageInfo: stages,
    stages: Object.fromEntries(stages.map((s) => [s.name, { state: 'not-started', step: 0, total: 1 }])),
    settings,
    model: null,
    corpus: null,
    backend: { name: 'cpu', adapter: 'test', fallbackReasons: [] },
  } as EngineStatus;
}

/** The class attribute of the settings field that holds `testid`. */
function fieldClass(html: string, testid: string): string {
  const at = html.indexOf(`data-testid="${testid}"`);
  const open = html.lastIndexOf('<div class="field', at);
  return html.slice(open, html.indexOf('>', open));
}

afterEach(() => {
  engine.status = null;
  engine.samples = {};
});

describe('GRPO panel', () => {
  it('names the reward in use, learned or a program, and shows the latest completions with their rewards', () => {
    showStatus('instruction_following');
    let html = render(GrpoPanel, { props: { info: info('grpo') } }).body;
    expect(html).toMatch(/data-testid="grpo-reward-kind"[^>]*data-reward="instruction_following"/);
    expect(html).toContain('Reward in use: <strong>instruction following</strong> (a program');
    expect(html).toContain('Samples appear here while the stage runs');

    showStatus('learned');
    engine.samples = { grpo: { step: 4, samples: [{ prompt: 'Instruction: a story.\nResponse:', completion: ' Max ran.', reward: 0.5 }] } };
    html = render(GrpoPanel, { props: { info: info('grpo') } }).body;
    expect(html).toContain('Reward in use: <strong>learned</strong> (the reward model trained on your rankings');
    expect(html).toMatch(/data-testid="grpo-samples"/);
    expect(html).toContain('at step 4');
    expect(html).toContain(' Max ran.');
    expect(html).toContain('reward 0.50');
  });
});

describe('settings form', () => {
  it('gives a select with long options two columns, a short one its own width in one', () => {
    showStatus('learned');
    const grpo = render(SettingsForm, { props: { stage: 'grpo', specs: info('grpo').settings } }).body;
    expect(fieldClass(grpo, 'setting-grpo-reward')).toMatch(/\bwide\b/);
    expect(fieldClass(grpo, 'setting-grpo-beta')).not.toMatch(/\bwide\b/);
    const ppo = render(SettingsForm, { props: { stage: 'ppo', specs: info('ppo').settings } }).body;
    expect(fieldClass(ppo, 'setting-ppo-kl_estimator')).not.toMatch(/\bwide\b/);
    expect(fieldClass(ppo, 'setting-ppo-reward')).toMatch(/\bwide\b/);
  });
});
