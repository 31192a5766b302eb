/**
 * Serialization of algorithm states (checkpoints, resume, determinism
 * checks). A state is a plain object of numbers, strings, booleans,
 * Float64Arrays, Int32Arrays, Rngs, arrays and nested objects; the JSON form
 * tags typed arrays and RNGs so that `deserializeState(serializeState(s))`
 * rebuilds an identical state. Float64 values survive JSON exactly.
 */
import { Rng, type RngState } from '../random/rng.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function serializeState(value: unknown): Json {
  if (value instanceof Float64Array) return { $f64: Array.from(value, encodeNumber) };
  if (value instanceof Int32Array) return { $i32: Array.from(value) };
  if (value instanceof Rng) return { $rng: [...value.getState()] };
  if (Array.isArray(value)) return value.map(serializeState);
  if (typeof value === 'number') return encodeNumber(value);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = serializeState(v);
    return out;
  }
  throw new TypeError(`cannot serialize a state field of type ${typeof value}`);
}

export function deserializeState<S>(json: Json): S {
  return decode(json) as S;
}

/** Non-finite numbers become tagged strings (JSON has no NaN or Infinity). */
function encodeNumber(v: number): Json {
  return Number.isFinite(v) ? v : { $num: String(v) };
}

function decode(json: Json): unknown {
  if (Array.isArray(json)) return json.map(decode);
  if (json === null || typeof json !== 'object') return json;
  if ('$f64' in json) return Float64Array.from((json.$f64 as Json[]).map((v) => decode(v) as number));
  if ('$i32' in json) return Int32Array.from(json.$i32 as number[]);
  if ('$rng' in json) return Rng.fromState(json.$rng as unknown as RngState);
  if ('$num' in json) return Number(json.$num);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) out[k] = decode(v);
  return out;
}
