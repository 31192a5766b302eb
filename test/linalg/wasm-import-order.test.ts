/**
 * The WebAssembly kernel module can be the first module of the kernel set a
 * program imports: it must not need ../kernels.ts to be initialised first
 * (this file's first import is deliberately src/linalg/wasm/index.ts; each
 * test file runs in its own process).
 */
import { wasmKernels } from '../../src/linalg/wasm/index.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernels, pinTable, isPinned } from '../../src/linalg/kernels.ts';

test('importing the WebAssembly kernel set before src/linalg/kernels.ts works, and both see the same pinned tables', () => {
  const wasm = wasmKernels();
  assert.ok(wasm, 'this Node compiles the WebAssembly SIMD kernels');
  assert.equal(kernels().name, process.env.DBO_KERNELS === 'ts' ? 'ts' : 'wasm');
  const table = new Float64Array([1, 2, 3, 4]);
  assert.equal(isPinned(table), false);
  pinTable(table);
  assert.equal(isPinned(table), true);
  // A pinned table is read from WebAssembly memory: the product must still be exact.
  const out = new Float64Array(2);
  wasm.gemv(out, table, 2, 2, new Float64Array([1, 1]));
  assert.deepEqual(Array.from(out), [3, 7]);
});
