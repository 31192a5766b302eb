/**
 * LIBSVM / svmlight text reader: `label idx:val idx:val ...` with 1-based,
 * strictly increasing indices. Plain text or `.bz2` (by extension).
 *
 * Tolerated: trailing whitespace, CR before LF, blank lines, `#` comments (to
 * the end of the line), explicit zeros (`13:0.0`), labels written as floats
 * (`-1.0`, `+1`). Labels are mapped to class indices by their sorted unique
 * numeric values (-1→0, +1→1; 1→0, 2→1), unless `labelValues` fixes the set.
 *
 * The parser scans the string by character codes (no per-token regexes or
 * splits); integer values take a fast path that avoids allocating a substring.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import Bunzip from 'seek-bzip';
import { ConfigError, DataError } from '../errors.ts';
import type { Dataset } from './dataset.ts';

export interface LibsvmOptions {
  /**
   * Number of features d. An index above it is an error. Without it, d is the
   * largest index found (so a test file may need `features` to match its
   * training file, e.g. a9a.t has max index 122 but a9a has 123).
   */
  readonly features?: number;
  /**
   * The label values that define the classes (class c = c-th smallest value).
   * Pass the training file's `labelValues` when reading its test file, so that
   * classes agree even if a class is missing; a label outside the set is an
   * error. Without it, the set is the file's own sorted unique labels.
   */
  readonly labelValues?: readonly number[];
}

/** A parsed LIBSVM file in compressed sparse row (CSR) form. */
export interface LibsvmFile {
  /** The path or name used in error messages. */
  readonly source: string;
  /** Number of samples (data lines). */
  readonly n: number;
  /** Largest feature index found (1-based), 0 if every row is empty. */
  readonly maxIndex: number;
  /** Labels as written (numeric), one per row. */
  readonly rawLabels: Float64Array;
  /** Row i's entries are positions rowPtr[i] .. rowPtr[i+1]-1 of indices/values. Length n+1. */
  readonly rowPtr: Int32Array;
  /** 0-based feature indices (file index − 1), strictly increasing within a row. */
  readonly indices: Int32Array;
  /** Feature values, explicit zeros included. */
  readonly values: Float64Array;
}

export interface LibsvmResult {
  readonly dataset: Dataset;
  /** Sorted label values; class c of the dataset is labelValues[c]. */
  readonly labelValues: number[];
}

const NOT_FOUND = 'file not found (expected a LIBSVM text file, optionally .bz2)';

/** Reads a LIBSVM file (plain text, or bzip2 when the name ends in `.bz2`) into a dense Dataset. */
export function readLibsvm(path: string, options: LibsvmOptions = {}): LibsvmResult {
  return toDataset(readLibsvmSparse(path, options), options);
}

/** Reads a LIBSVM file into its sparse form, with the same checks as readLibsvm. */
export function readLibsvmSparse(path: string, options: LibsvmOptions = {}): LibsvmFile {
  return parseLibsvmSparse(readLibsvmText(path), path, options);
}

/** The decoded text of a LIBSVM file (bunzipped when the name ends in `.bz2`). */
export function readLibsvmText(path: string): string {
  if (!existsSync(path)) throw new DataError(path, NOT_FOUND);
  if (statSync(path).isDirectory()) throw new DataError(path, `is a directory (expected a LIBSVM text file, optionally .bz2)`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new DataError(path, `cannot be read: ${(err as Error).message}`);
  }
  if (path.toLowerCase().endsWith('.bz2')) {
    try {
      bytes = Bunzip.decode(bytes, undefined, true);
    } catch (err) {
      throw new DataError(path, `is not a valid bzip2 file (${(err as Error).message ?? String(err)})`);
    }
  }
  // The format is ASCII; latin1 decoding is a byte-for-byte copy and never
  // fails, and any non-ASCII byte then shows up in a token error.
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return bytes.toString('latin1', bom);
}

/** Parses LIBSVM text into a dense Dataset. `source` names the text in error messages. */
export function parseLibsvmText(text: string, source: string, options: LibsvmOptions = {}): LibsvmResult {
  return toDataset(parseLibsvmSparse(text, source, options), options);
}

function checkOptions(options: LibsvmOptions): { features: number; allowed: Set<number> | null } {
  const f = options.features;
  if (f !== undefined && (!Number.isInteger(f) || f < 1)) {
    throw new ConfigError('features', `expected an integer >= 1, got ${String(f)}`);
  }
  let allowed: Set<number> | null = null;
  if (options.labelValues !== undefined) {
    if (options.labelValues.length === 0) throw new ConfigError('labelValues', 'expected at least one label value, got none');
    allowed = new Set();
    for (const v of options.labelValues) {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new ConfigError('labelValues', `expected finite numbers, got ${String(v)}`);
      }
      if (allowed.has(v)) throw new ConfigError('labelValues', `expected distinct values, got ${v} twice`);
      allowed.add(v);
    }
  }
  return { features: f ?? Number.MAX_SAFE_INTEGER, allowed };
}

/** Growable typed arrays (doubling). */
class GrowI32 {
  a: Int32Array;
  length = 0;
  constructor(cap: number) {
    this.a = new Int32Array(Math.max(16, cap));
  }
  push(v: number): void {
    if (this.length === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.length++] = v;
  }
  trimmed(): Int32Array {
    return this.a.length === this.length ? this.a : this.a.slice(0, this.length);
  }
}

class GrowF64 {
  a: Float64Array;
  length = 0;
  constructor(cap: number) {
    this.a = new Float64Array(Math.max(16, cap));
  }
  push(v: number): void {
    if (this.length === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.length++] = v;
  }
  trimmed(): Float64Array {
    return this.a.length === this.length ? this.a : this.a.slice(0, this.length);
  }
}

const C_0 = 48;
const C_9 = 57;
const C_PLUS = 43;
const C_MINUS = 45;
const C_DOT = 46;
const C_COLON = 58;
const C_E = 69;
const C_e = 101;

/** True when s[start, end) contains only characters that can appear in a decimal number. */
function numberChars(s: string, start: number, end: number): boolean {
  if (start >= end) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= C_0 && c <= C_9) || c === C_DOT || c === C_MINUS || c === C_PLUS || c === C_e || c === C_E)) return false;
  }
  return true;
}

/** The finite number written in s[start, end), or NaN. Accepts decimal and exponent notation only. */
function parseNumber(s: string, start: number, end: number): number {
  // Fast path: optional sign and up to 15 digits.
  let i = start;
  let neg = false;
  const c0 = s.charCodeAt(i);
  if (c0 === C_MINUS || c0 === C_PLUS) {
    neg = c0 === C_MINUS;
    i++;
  }
  if (i < end && end - i <= 15) {
    let v = 0;
    let j = i;
    for (; j < end; j++) {
      const c = s.charCodeAt(j);
      if (c < C_0 || c > C_9) break;
      v = v * 10 + (c - C_0);
    }
    if (j === end) return neg ? -v : v;
  }
  if (!numberChars(s, start, end)) return NaN;
  const v = Number(s.slice(start, end));
  return Number.isFinite(v) ? v : NaN;
}

/** Text of s[start, end) for an error message, shortened if very long. */
function tokenText(s: string, start: number, end: number): string {
  return end - start > 60 ? `${s.slice(start, start + 57)}...` : s.slice(start, end);
}

/** Parses LIBSVM text into sparse (CSR) form. */
export function parseLibsvmSparse(text: string, source: string, options: LibsvmOptions = {}): LibsvmFile {
  const { features: maxFeatures, allowed } = checkOptions(options);
  const s = text;
  const len = s.length;
  const rowPtr = new GrowI32(Math.ceil(len / 64) + 1);
  const rawLabels = new GrowF64(Math.ceil(len / 64));
  const indices = new GrowI32(Math.ceil(len / 5));
  const values = new GrowF64(Math.ceil(len / 5));
  rowPtr.push(0);
  let maxIndex = 0;
  let lineNo = 0;
  let nextHash = s.indexOf('#');
  if (nextHash < 0) nextHash = len;
  // A byte-order mark (U+FEFF, or its UTF-8 bytes read as latin1) is skipped.
  let pos = s.charCodeAt(0) === 0xfeff ? 1 : s.startsWith('\u00ef\u00bb\u00bf') ? 3 : 0;

  const fail = (detail: string, ts: number, te: number): never => {
    throw new DataError(source, `line ${lineNo}: ${detail}, got '${tokenText(s, ts, te)}'`);
  };

  while (pos < len) {
    lineNo++;
    let eol = s.indexOf('\n', pos);
    if (eol < 0) eol = len;
    if (nextHash < pos) {
      nextHash = s.indexOf('#', pos);
      if (nextHash < 0) nextHash = len;
    }
    const end = nextHash < eol ? nextHash : eol;

    let i = pos;
    // Skip leading whitespace (any control character or space).
    while (i < end && s.charCodeAt(i) <= 32) i++;
    if (i < end) {
      // Label token.
      let te = i;
      while (te < end && s.charCodeAt(te) > 32) te++;
      const label = parseNumber(s, i, te);
      if (Number.isNaN(label)) fail('expected a numeric label', i, te);
      if (allowed !== null && !allowed.has(label)) {
        fail(`expected a label in {${[...allowed].sort((a, b) => a - b).join(', ')}} (labelValues)`, i, te);
      }
      rawLabels.push(label);
      i = te;
      let prev = 0;
      for (;;) {
        while (i < end && s.charCodeAt(i) <= 32) i++;
        if (i >= end) break;
        const ts = i;
        // Index: digits up to ':'.
        let idx = 0;
        let c = s.charCodeAt(i);
        while (c >= C_0 && c <= C_9) {
          idx = idx * 10 + (c - C_0);
          c = s.charCodeAt(++i);
        }
        const digitsEnd = i;
        te = i;
        while (te < end && s.charCodeAt(te) > 32) te++;
        if (c !== C_COLON) {
          // Not digits followed by ':'. Say what is wrong.
          const colon = s.indexOf(':', ts);
          if (colon < 0 || colon >= te) fail("expected 'index:value'", ts, te);
          fail('expected an integer index >= 1 before \':\'', ts, te);
        }
        if (digitsEnd === ts || idx < 1 || idx > 2147483647) fail("expected an integer index >= 1 before ':'", ts, te);
        if (idx <= prev) fail(`expected indices in strictly increasing order (previous index ${prev})`, ts, te);
        if (idx > maxFeatures) {
          fail(`expected feature indices <= ${maxFeatures} (the features option), index ${idx} is above it`, ts, te);
        }
        const v = parseNumber(s, digitsEnd + 1, te);
        if (Number.isNaN(v)) fail("expected a finite number after ':'", ts, te);
        indices.push(idx - 1);
        values.push(v);
        if (idx > maxIndex) maxIndex = idx;
        prev = idx;
        i = te;
      }
      rowPtr.push(indices.length);
    }
    pos = eol + 1;
  }
  if (rawLabels.length === 0) {
    throw new DataError(source, "no samples found (expected LIBSVM lines 'label index:value ...')");
  }
  return {
    source,
    n: rawLabels.length,
    maxIndex,
    rawLabels: rawLabels.trimmed(),
    rowPtr: rowPtr.trimmed(),
    indices: indices.trimmed(),
    values: values.trimmed(),
  };
}

/** Sorted unique values of a label array. */
export function uniqueLabels(rawLabels: Float64Array): number[] {
  const set = new Set<number>();
  for (let i = 0; i < rawLabels.length; i++) set.add(rawLabels[i]!);
  return [...set].sort((a, b) => a - b);
}

/**
 * Densifies a parsed file. d = options.features, else file.maxIndex (at least 1).
 * Classes follow options.labelValues (sorted) when given, else the file's own labels.
 */
export function toDataset(file: LibsvmFile, options: LibsvmOptions = {}): LibsvmResult {
  const { features: maxFeatures, allowed } = checkOptions(options);
  const d = options.features !== undefined ? maxFeatures : Math.max(1, file.maxIndex);
  if (file.maxIndex > d) {
    throw new DataError(file.source, `has feature index ${file.maxIndex}, above the expected maximum ${d} (the features option)`);
  }
  const labelValues = allowed !== null ? [...allowed].sort((a, b) => a - b) : uniqueLabels(file.rawLabels);
  const classOf = new Map<number, number>();
  labelValues.forEach((v, c) => classOf.set(v, c));
  const n = file.n;
  if (n * d > 2 ** 32 - 1) {
    throw new DataError(file.source, `is too large to hold densely (${n} rows × ${d} features)`);
  }
  const features = new Float64Array(n * d);
  const labels = new Int32Array(n);
  const { rowPtr, indices, values, rawLabels } = file;
  // Two-class files are the common case; avoid a Map lookup per row there.
  const lo = labelValues[0]!;
  const twoClass = labelValues.length === 2;
  for (let r = 0; r < n; r++) {
    const y = rawLabels[r]!;
    let c: number | undefined;
    if (twoClass) c = y === lo ? 0 : y === labelValues[1] ? 1 : undefined;
    else c = classOf.get(y);
    if (c === undefined) throw new DataError(file.source, `row ${r + 1}: label ${y} is not in {${labelValues.join(', ')}}`);
    labels[r] = c;
    const base = r * d;
    for (let k = rowPtr[r]!, e = rowPtr[r + 1]!; k < e; k++) features[base + indices[k]!] = values[k]!;
  }
  return { dataset: { n, d, classes: labelValues.length, features, labels }, labelValues };
}
