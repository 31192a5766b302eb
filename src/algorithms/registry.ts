/** The registered algorithms, by the name used in configs and on the command line. */
import { ConfigError } from '../errors.ts';
import { cdBsvrgd } from './cd-bsvrgd.ts';
import { mdbo, vrdbo } from './vrdbo.ts';
import { sldbo } from './sldbo.ts';
import { sparkle } from './sparkle.ts';
import { lPdbo } from './l-pdbo.ts';
import { spdb } from './spdb.ts';
import { maDsbo } from './ma-dsbo.ts';
import { dsbo } from './dsbo.ts';
import { gossipDsbo } from './gossip-dsbo.ts';
import { dSgd, gtDsgd, interact, svrInteract } from './interact.ts';
import { prometheus, prometheusDir, prometheusSg, proxDsgd } from './prometheus.ts';
import { dSoba, dSobaFo } from './d-soba.ts';
import type { AnyAlgorithm } from './types.ts';

export const ALGORITHMS: ReadonlyArray<AnyAlgorithm> = [
  // class G
  dSoba,
  dSobaFo,
  cdBsvrgd,
  vrdbo,
  mdbo,
  maDsbo,
  dsbo,
  gossipDsbo,
  sldbo,
  sparkle,
  // class P
  interact,
  svrInteract,
  gtDsgd,
  dSgd,
  lPdbo,
  spdb,
  prometheus,
  prometheusSg,
  prometheusDir,
  proxDsgd,
];

export function getAlgorithm(name: string, field = 'algorithm.name'): AnyAlgorithm {
  const found = ALGORITHMS.find((a) => a.name === name);
  if (!found) throw new ConfigError(field, `unknown algorithm '${name}' (known: ${ALGORITHMS.map((a) => a.name).join(', ')})`);
  return found;
}
