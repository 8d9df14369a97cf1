/**
 * What the session's parts are given, read from the stage descriptors and nothing else: the context a
 * stage is built from, and the ranking flow's host (which stage's policy writes the tasks and how they
 * sample, which stages take live rankings, which model scores them).
 */
import type { GPT } from '../model/gpt';
import type { Tokenizer } from '../data/tokenizer';
import type { Ranking } from '../rlhf/rankings';
import { DEFAULT_TASK_SAMPLING, type StageContext, type StageDescriptor } from '../stages/descriptor';
import type { TokenSplit } from '../train/pretrain';
import type * as T from '../types';
import type { LectureMode } from './lectureMode';
import type { RankingFlow, RankingFlowHost } from './rankingFlow';
import { isActive, namespaced, type StageRunner } from './stageRunner';

/** What the context and the flow's host read from the session, lazily: a stage that needs no corpus runs without one. */
export interface SessionParts {
  runner: StageRunner;
  flow(): RankingFlow;
  lecture(): LectureMode;
  policy(): { model: GPT; tokenizer: Tokenizer };
  corpus(): TokenSplit;
  /** Prompts for rollouts and ranking tasks (the task mix in use, fitting the policy's context). */
  prompts(): string[];
  version(): number;
  lineage(): string[];
  emit(e: T.EngineEvent): void;
  pushMetrics(stage: T.StageName, point: T.MetricPoint): void;
  /** A stage's run was asked for and waits (for the reward model's update to give way). */
  runWaiting(): boolean;
}

/** What a stage is built from and may talk to while it runs. */
export function stageContext(s: SessionParts): StageContext {
  const flow = s.flow();
  const lecture = s.lecture();
  return {
    get model() {
      return s.policy().model;
    },
    get tokenizer() {
      return s.policy().tokenizer;
    },
    get corpus() {
      return s.corpus();
    },
    get prompts() {
      return s.prompts();
    },
    get rankings() {
      return flow.rankings;
    },
    get demonstrations() {
      return flow.demonstrations;
    },
    stageObject: (name) => s.runner.object(name),
    stageState: (name) => s.runner.state(name),
    goldScorer: lecture.goldScorer(),
    rankingFlow: {
      applyPending: (progress) => flow.applyPending(progress),
      rewardUpdated: () => flow.rewardUpdated(),
      refillQueue: (stop, report) => flow.refillQueue(lecture.settings.k, stop, report),
      rewardTrained: () => flow.rewardTrained(),
      rewardDropped: () => flow.rewardDropped(),
    },
  };
}

/** The stage whose policy writes the ranking tasks now: a running `writesTasks` stage, else one that exists, else none. */
function taskWriter(runner: StageRunner): StageDescriptor | undefined {
  const writers = runner.stages.filter((d) => d.writesTasks && runner.object(d.name));
  return writers.find((d) => isActive(runner.state(d.name))) ?? writers[0];
}

/** The stage whose scorer the flow updates and asks for predicted scores (the reward model), while it exists. */
function scorerStage(runner: StageRunner): StageDescriptor | undefined {
  return runner.stages.find((d) => d.liveRankings?.scorer && runner.object(d.name));
}

/** The ranking flow's view of the session: the policy, and the stages as their descriptors describe them. */
export function rankingFlowHost(s: SessionParts): RankingFlowHost {
  const { runner } = s;
  return {
    policy: () => s.policy(),
    prompts: () => s.prompts(),
    reward: () => {
      const d = scorerStage(runner);
      return d ? { stage: d.liveRankings!.scorer!(runner.object(d.name)!), training: isActive(runner.state(d.name)) } : null;
    },
    liveLearners: () =>
      runner.stages.flatMap((d) => {
        const live = d.liveRankings;
        const stage = runner.object(d.name);
        if (!live || !stage || (!isActive(runner.state(d.name)) && live.scorer)) return [];
        return [(added: Ranking[]) => live.join(stage, added)];
      }),
    rewardInUse: () => {
      const d = scorerStage(runner);
      return d ? runner.usersRunning(d.name) : false;
    },
    policyIteration: () => {
      const d = taskWriter(runner);
      return d ? (runner.object(d.name)?.stepsDone ?? 0) : 0;
    },
    policyVersion: () => s.version(),
    policyOrigin: () => s.lineage()[0],
    policyTraining: () => {
      const d = taskWriter(runner);
      return d ? isActive(runner.state(d.name)) : false;
    },
    stagesIdle: () => runner.stages.every((d) => !isActive(runner.state(d.name))),
    runWaiting: () => s.runWaiting(),
    onRewardUpdate: (update) => s.emit({ type: 'reward-update', update }),
    onError: (message) => s.emit({ type: 'log', level: 'warn', message }),
    samplingSettings: () => {
      const d = [taskWriter(runner), ...runner.stages].find((x) => x?.taskSampling);
      return d ? d.taskSampling!(runner.settings[d.name]) : DEFAULT_TASK_SAMPLING;
    },
    onCounters: (counters) => s.emit({ type: 'rankings', counters }),
    onRewardMetrics: (point) => {
      const d = scorerStage(runner);
      if (!d) return;
      // the reward model's own step count: its planned steps and those its incremental updates ran
      const stage = runner.object(d.name)!;
      const step = stage.stepsDone + (stage.extraSteps ?? 0);
      s.pushMetrics(d.name, { ...point, step, values: namespaced(d.metricPrefix ?? d.name, point.values) });
      s.emit({ type: 'state', stage: d.name, status: runner.status(d.name) }); // its counter: "64 / 64 + 8 in updates"
    },
  };
}
