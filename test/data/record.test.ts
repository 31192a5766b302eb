/**
 * data.json text: index lists shared by many agents are stringified once, and
 * the text is exactly that of stringifying every agent's record on its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataRecordJson, writeDataRecord, type DataRecord } from '../../src/data/record.ts';
import { tempDir } from '../helpers.ts';

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

test('writeDataRecord writes exactly the text of dataRecordJson, for a record of many agents sharing one list', () => {
  const shared = Array.from({ length: 5000 }, (_, i) => i);
  const record: DataRecord = {
    dataset: 'd',
    sources: [],
    indexing: 'i',
    preprocessing: 'p',
    agents: Array.from({ length: 700 }, (_, i) => ({ train: [i, i + 1], validation: [2 * i], test: shared })),
  };
  const dir = tempDir('dbo-record-');
  const path = join(dir, 'data.json');
  writeDataRecord(path, record);
  assert.equal(readFileSync(path, 'utf8'), dataRecordJson(record));
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).agents[699].test.length, 5000);
});
