#!/usr/bin/env node
// An independent rebuild of one agent's data from a run's data.json and the
// source files, without dbo: usage `node rebuild-agent.mjs RUN_DIR AGENT FILE_DIR`.
// Checks every source's SHA-256, reads the IDX files itself, applies
// "pixel byte / 255" and prints the SHA-256 of the float64 feature bytes and
// int32 label bytes of the agent's train, validation and test sets.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const [runDir, agentArg, fileDir] = process.argv.slice(2);
const record = JSON.parse(readFileSync(join(runDir, 'data.json'), 'utf8'));
if (!record.preprocessing.startsWith('feature = pixel byte / 255')) throw new Error(`unexpected preprocessing: ${record.preprocessing}`);
const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');
const files = {};
for (const s of record.sources) {
  const bytes = readFileSync(join(fileDir, s.name));
  if (sha(bytes) !== s.sha256) throw new Error(`${s.name}: SHA-256 mismatch`);
  files[s.name] = s.name.endsWith('.gz') ? gunzipSync(bytes) : bytes;
}
// IDX: [0, 0, 8, ndim], ndim big-endian uint32 sizes, then the bytes.
function idx(buf) {
  const ndim = buf[3];
  const shape = Array.from({ length: ndim }, (_, k) => buf.readUInt32BE(4 + 4 * k));
  return { shape, data: buf.subarray(4 + 4 * ndim) };
}
function role(name) {
  const [images, labels] = record.sources.filter((s) => s.roles.includes(name)).map((s) => idx(files[s.name]));
  return images.shape.length === 3 ? { images, labels } : { images: labels, labels: images };
}
const agent = record.agents[Number(agentArg)];
function build(which, rows, labelsOverride) {
  const { images, labels } = role(which);
  const d = images.shape[1] * images.shape[2];
  const features = new Float64Array(rows.length * d);
  const lab = new Int32Array(rows.length);
  rows.forEach((r, j) => {
    for (let q = 0; q < d; q++) features[j * d + q] = images.data[r * d + q] / 255;
    lab[j] = labelsOverride ? labelsOverride[j] : labels.data[r];
  });
  return { features: sha(Buffer.from(features.buffer)), labels: sha(Buffer.from(lab.buffer)) };
}
console.log(JSON.stringify({ train: build('train', agent.train, agent.trainLabels), validation: build('validation', agent.validation), test: build('test', agent.test) }));
