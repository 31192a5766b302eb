/**
 * Tables declared immutable ("pinned"), which kernel sets may copy once and
 * keep: the WebAssembly set (./wasm/index.ts) holds pinned tables in its
 * memory and copies unpinned arguments on every call. Its own module, with
 * no imports, so that ./kernels.ts and ./wasm/index.ts both read it without
 * importing each other.
 */
const pinned = new WeakSet<Float64Array | Int32Array>();

/**
 * Declares a table (features or labels) immutable from now on, so that kernel
 * sets may keep their own copy of it (the WebAssembly set holds pinned tables
 * in its memory and copies unpinned arguments on every call). Pin only arrays
 * that are never written again, such as a Dataset's.
 */
export function pinTable(table: Float64Array | Int32Array): void {
  pinned.add(table);
}

/** Whether `table` was pinned. */
export function isPinned(table: Float64Array | Int32Array): boolean {
  return pinned.has(table);
}
