/**
 * data.json text: index lists shared by many agents are stringified once, and
 * the text is exactly that of stringifying every agent's record on its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataRecordJson, type DataRecord } from '../../src/data/record.ts';

test('dataRecordJson: one agent per line, shared lists written in full for every agent, valid JSON equal to the record', () => {
  const shared = Array.from({ length: 40 }, (_, i) => 3 * i);
  const record: DataRecord = {
    dataset: 'libsvm a9a',
    sources: [{ name: 'a9a', sha256: 'ab', bytes: 1, roles: ['train', 'validation'] } as DataRecord['sources'][number]],
    indexing: 'from 0',
    preprocessing: 'as read',
    agents: [
      { train: [1, 2], validation: [], test: shared },
      { train: [3], validation: [4.5, -1], test: shared, trainLabels: [0, 1] },
      { train: [], validation: [7], test: shared, trainLabels: undefined } as unknown as DataRecord['agents'][number],
    ],
  };
  const text = dataRecordJson(record);
  const { agents, ...head } = record;
  const expected = `${JSON.stringify(head, null, 2).slice(0, -2)},\n  "agents": [\n${agents.map((a) => `    ${JSON.stringify(a)}`).join(',\n')}\n  ]\n}\n`;
  assert.equal(text, expected);
  assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(record)));
  assert.equal(text.split('\n').filter((l) => l.startsWith('    {"train"')).length, 3);
});
