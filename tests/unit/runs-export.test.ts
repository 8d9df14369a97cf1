/** A run as files: CSV with a step column and one column per metric; JSON of the whole record. */
import { describe, expect, it } from 'vitest';
import { RUN_FORMAT, runFileName, runToCsv, runToJson } from '../../src/lib/runs/exportRun';
import type { RunRecord } from '../../src/lib/runs/record';

const record: RunRecord = {
  id: 'pretrain-1',
  name: 'lr 0.01, "fast"',
  stage: 'pretrain',
  settings: { learning_rate: 0.01, seed: 3 },
  seed: 3,
  lineage: ['tiny-pretrained'],
  color: '#2563eb',
  hidden: false,
  state: 'done',
  startedAt: 1000,
  endedAt: 2000,
  totalSteps: 3,
  stepsDone: 3,
  seconds: 0,
  samples: [],
  points: [
    { step: 1, kind: 'train', values: { 'pretrain/loss': 3.5, 'pretrain/tokens_per_s': 100 } },
    { step: 2, kind: 'train', values: { 'pretrain/loss': 3.25, 'pretrain/tokens_per_s': 120 } },
    { step: 2, kind: 'eval', values: { 'pretrain/val_loss': 3.4 } },
    { step: 3, kind: 'train', values: { 'pretrain/loss': NaN, 'odd,name': 1 } },
  ],
};

describe('run export', () => {
  it('CSV: one row per step, a column per metric in order of appearance, train and eval of a step in one row', () => {
    expect(runToCsv(record).split('\n')).toEqual([
      'step,pretrain/loss,pretrain/tokens_per_s,pretrain/val_loss,"odd,name"',
      '1,3.5,100,,',
      '2,3.25,120,3.4,',
      '3,NaN,,,1',
      '',
    ]);
  });

  it('CSV: rows by step even when points arrive out of order; an empty run is a header alone', () => {
    const points = [...record.points].reverse().slice(1);
    expect(runToCsv({ points }).split('\n').slice(0, 3)).toEqual([
      'step,pretrain/val_loss,pretrain/loss,pretrain/tokens_per_s',
      '1,,3.5,100',
      '2,3.4,3.25,120',
    ]);
    expect(runToCsv({ points: [] })).toBe('step\n');
  });

  it('JSON: the whole record with its format tag; NaN survives as a string', () => {
    const parsed = JSON.parse(runToJson(record));
    expect(parsed).toMatchObject({ format: RUN_FORMAT, version: 1, id: 'pretrain-1', settings: { learning_rate: 0.01 }, seed: 3 });
    expect(parsed.lineage).toEqual(['tiny-pretrained']);
    expect(parsed.points).toHaveLength(4);
    expect(parsed.points[3].values['pretrain/loss']).toBe('NaN');
    expect(parsed.points[1]).toEqual(record.points[1]);
  });

  it('file names keep letters, digits, dots and dashes', () => {
    expect(runFileName(record, 'csv')).toBe('lr_0.01_fast.csv');
    expect(runFileName({ name: '***' }, 'json')).toBe('run.json');
  });
});
