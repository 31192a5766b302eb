import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError, ConfigError } from '../../src/errors.ts';
import { labelCounts } from '../../src/data/dataset.ts';
import { parseLibsvmSparse, parseLibsvmText, readLibsvm } from '../../src/data/libsvm.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const libsvmDir = join(repoRoot, '..', 'shared', 'data', 'libsvm');

const QUIRKS = [
  '# a comment line',
  '-1.0 1:0.5 3:2 13:0.0 ',
  '1.0 2:-1.5e-1 13:1   # trailing comment',
  '',
  '   ',
  '+1 ',
  '-1\t4:7\r',
  '',
].join('\n');

test('parses a string with every tolerated quirk', () => {
  const { dataset: ds, labelValues } = parseLibsvmText(QUIRKS, 'quirks.txt', {});
  assert.deepEqual(labelValues, [-1, 1]);
  assert.equal(ds.n, 4);
  assert.equal(ds.d, 13);
  assert.equal(ds.classes, 2);
  assert.deepEqual(Array.from(ds.labels), [0, 1, 1, 0]);
  const rowOf = (i: number) => Array.from(ds.features.subarray(i * 13, i * 13 + 13));
  assert.deepEqual(rowOf(0), [0.5, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(rowOf(1), [0, -0.15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(rowOf(2), new Array(13).fill(0));
  assert.deepEqual(rowOf(3), [0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
});

test('skips a byte-order mark', () => {
  assert.equal(parseLibsvmText('\ufeff1 1:1\n', 'bom').dataset.n, 1);
  assert.equal(parseLibsvmText('\u00ef\u00bb\u00bf1 1:1\n', 'bom').dataset.n, 1);
});

test('keeps explicit zeros in the sparse form, and they count for the width', () => {
  const f = parseLibsvmSparse('1 2:1 7:0\n-1 1:3\n', 'z.txt');
  assert.equal(f.n, 2);
  assert.equal(f.maxIndex, 7);
  assert.deepEqual(Array.from(f.rowPtr), [0, 2, 3]);
  assert.deepEqual(Array.from(f.indices), [1, 6, 0]);
  assert.deepEqual(Array.from(f.values), [1, 0, 3]);
  assert.deepEqual(Array.from(f.rawLabels), [1, -1]);
  assert.equal(parseLibsvmText('1 2:1 7:0\n', 'z.txt').dataset.d, 7);
});

test('maps labels by sorted numeric value', () => {
  const a = parseLibsvmText('2 1:1\n1 1:2\n2 1:3\n', 'a');
  assert.deepEqual(a.labelValues, [1, 2]);
  assert.deepEqual(Array.from(a.dataset.labels), [1, 0, 1]);
  const b = parseLibsvmText('1 1:1\n-1 1:1\n1.0 1:1\n-1.0 1:1\n+1 1:1\n', 'b');
  assert.deepEqual(b.labelValues, [-1, 1]);
  assert.deepEqual(Array.from(b.dataset.labels), [1, 0, 1, 0, 1]);
  const c = parseLibsvmText('3 1:1\n1 1:1\n2 1:1\n', 'c');
  assert.equal(c.dataset.classes, 3);
  assert.deepEqual(Array.from(c.dataset.labels), [2, 0, 1]);
});

test('labelValues fixes the classes, even when a class is missing', () => {
  const r = parseLibsvmText('1 1:1\n1 2:1\n', 'one-class.t', { labelValues: [1, -1] });
  assert.deepEqual(r.labelValues, [-1, 1]);
  assert.equal(r.dataset.classes, 2);
  assert.deepEqual(Array.from(r.dataset.labels), [1, 1]);
  assert.throws(
    () => parseLibsvmText('1 1:1\n3 2:1\n', 'one-class.t', { labelValues: [-1, 1] }),
    (e: unknown) => e instanceof DataError && /^one-class\.t: line 2: expected a label in \{-1, 1\}.*, got '3'$/.test(e.message),
  );
  assert.throws(() => parseLibsvmText('1 1:1\n', 'x', { labelValues: [] }), ConfigError);
  assert.throws(() => parseLibsvmText('1 1:1\n', 'x', { labelValues: [1, 1] }), ConfigError);
});

test('features option widens the data (a9a.t style) and rejects larger indices', () => {
  const text = '-1 3:1 122:1 \n+1 1:1 \n';
  assert.equal(parseLibsvmText(text, 'a9a.t', {}).dataset.d, 122);
  const { dataset } = parseLibsvmText(text, 'a9a.t', { features: 123 });
  assert.equal(dataset.d, 123);
  assert.equal(dataset.features.length, 2 * 123);
  assert.equal(dataset.features[121], 1);
  assert.equal(dataset.features[122], 0);
  assert.throws(
    () => parseLibsvmText('1 1:1\n1 5:1 124:1\n', 'wide.txt', { features: 123 }),
    (e: unknown) =>
      e instanceof DataError && e.file === 'wide.txt' && /^wide\.txt: line 2: .*123.*index 124.*got '124:1'$/.test(e.message),
  );
  assert.throws(() => parseLibsvmText('1 1:1\n', 'x', { features: 0 }), ConfigError);
  assert.throws(() => parseLibsvmText('1 1:1\n', 'x', { features: 2.5 }), ConfigError);
});

test('every malformed line gives a DataError with file, line and token', () => {
  const cases: Array<[string, RegExp]> = [
    ['abc 1:1', /^bad\.txt: line 1: expected a numeric label, got 'abc'$/],
    ['1:1 2:1', /^bad\.txt: line 1: expected a numeric label, got '1:1'$/],
    ['1 1:1\n1 2', /^bad\.txt: line 2: expected 'index:value', got '2'$/],
    ['1 1:1\n# c\n1 foo', /^bad\.txt: line 3: expected 'index:value', got 'foo'$/],
    ['1 0:1', /^bad\.txt: line 1: expected an integer index >= 1 before ':', got '0:1'$/],
    ['1 x:1', /^bad\.txt: line 1: expected an integer index >= 1 before ':', got 'x:1'$/],
    ['1 1.5:2', /^bad\.txt: line 1: expected an integer index >= 1 before ':', got '1.5:2'$/],
    ['1 -2:2', /^bad\.txt: line 1: expected an integer index >= 1 before ':', got '-2:2'$/],
    ['1 :2', /^bad\.txt: line 1: expected an integer index >= 1 before ':', got ':2'$/],
    ['1 3:1 2:1', /^bad\.txt: line 1: expected indices in strictly increasing order \(previous index 3\), got '2:1'$/],
    ['1 3:1 3:1', /^bad\.txt: line 1: expected indices in strictly increasing order \(previous index 3\), got '3:1'$/],
    ['1 1:abc', /^bad\.txt: line 1: expected a finite number after ':', got '1:abc'$/],
    ['1 1:', /^bad\.txt: line 1: expected a finite number after ':', got '1:'$/],
    ['1 1:nan', /^bad\.txt: line 1: expected a finite number after ':', got '1:nan'$/],
    ['1 1:inf', /^bad\.txt: line 1: expected a finite number after ':', got '1:inf'$/],
    ['1 1:1e999', /^bad\.txt: line 1: expected a finite number after ':', got '1:1e999'$/],
    ['1 1:0x10', /^bad\.txt: line 1: expected a finite number after ':', got '1:0x10'$/],
    ['1 1:1:1', /^bad\.txt: line 1: expected a finite number after ':', got '1:1:1'$/],
    ['nan 1:1', /^bad\.txt: line 1: expected a numeric label, got 'nan'$/],
    ['', /^bad\.txt: no samples found/],
    ['# only a comment\n\n', /^bad\.txt: no samples found/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseLibsvmText(text, 'bad.txt'),
      (e: unknown) => {
        assert.ok(e instanceof DataError, `expected DataError for ${JSON.stringify(text)}, got ${String(e)}`);
        assert.equal(e.file, 'bad.txt');
        assert.match(e.message, re, `for input ${JSON.stringify(text)}`);
        return true;
      },
    );
  }
});

test('a missing file is a DataError that says what was expected', () => {
  const path = join(tmpdir(), 'dbo-no-such-file-7c1d.svm');
  assert.throws(
    () => readLibsvm(path, {}),
    (e: unknown) =>
      e instanceof DataError &&
      e.message === `${path}: file not found (expected a LIBSVM text file, optionally .bz2)`,
  );
});

test('reads plain and .bz2 files alike', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dbo-libsvm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const plain = join(dir, 'q.txt');
  writeFileSync(plain, QUIRKS);
  const expected = parseLibsvmText(QUIRKS, 'q');
  assert.deepEqual(readLibsvm(plain, {}), expected);

  const bad = join(dir, 'garbage.bz2');
  writeFileSync(bad, 'this is not bzip2');
  assert.throws(() => readLibsvm(bad, {}), (e: unknown) => e instanceof DataError && /garbage\.bz2: is not a valid bzip2 file/.test(e.message));

  const probe = spawnSync('bzip2', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    t.skip('no bzip2 command to make a .bz2 file');
    return;
  }
  const res = spawnSync('bzip2', ['-k', plain]);
  assert.equal(res.status, 0, String(res.stderr));
  assert.deepEqual(readLibsvm(`${plain}.bz2`, {}), expected);
});

test('real a9a / a9a.t from shared data', (t) => {
  const a9a = join(libsvmDir, 'a9a');
  const a9at = join(libsvmDir, 'a9a.t');
  if (!existsSync(a9a) || !existsSync(a9at)) {
    t.skip('shared data absent');
    return;
  }
  let t0 = performance.now();
  const train = readLibsvm(a9a, {});
  const msTrain = performance.now() - t0;
  assert.equal(train.dataset.n, 32561);
  assert.equal(train.dataset.d, 123);
  assert.deepEqual(train.labelValues, [-1, 1]);
  assert.deepEqual(labelCounts(train.dataset), [24720, 7841]);
  // Binary features, 14 ones per row in the first row.
  assert.deepEqual(
    Array.from(train.dataset.features.subarray(0, 123)).reduce((s, v) => s + v, 0),
    14,
  );

  t0 = performance.now();
  const testSet = readLibsvm(a9at, { features: train.dataset.d, labelValues: train.labelValues });
  const msTest = performance.now() - t0;
  assert.equal(testSet.dataset.n, 16281);
  assert.equal(testSet.dataset.d, 123);
  assert.deepEqual(labelCounts(testSet.dataset), [12435, 3846]);
  // Without the features option a9a.t is one column narrower.
  assert.equal(readLibsvm(a9at, {}).dataset.d, 122);
  t.diagnostic(`a9a parsed in ${msTrain.toFixed(0)} ms, a9a.t in ${msTest.toFixed(0)} ms`);
});
