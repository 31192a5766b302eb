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
import { parseWith } from '../experiments/zod-errors.ts';
import type { AgentContext, AgentStateBase, AgentWorkspace, Algorithm, AlgorithmParams, ConfiguredAlgorithm, RegisteredAlgorithm } from './types.ts';

/**
 * Wraps a typed algorithm for the registry. `configure` parses parameters
 * with the algorithm's own schema and closes over the typed result, so P, S
 * and W never leave this function: the states and workspaces handed back to
 * `step` and `view` are the ones this binding's `init` and `workspace` made.
 */
export function register<P extends AlgorithmParams, S extends AgentStateBase, W>(algorithm: Algorithm<P, S, W>): RegisteredAlgorithm {
  const { params: schema, init, workspace, step, view, onViewChange, ...info } = algorithm;
  return {
    ...info,
    params: schema,
    configure(raw: unknown, field = 'algorithm'): ConfiguredAlgorithm {
      const values = parseWith(schema, raw, field);
      const own = (s: AgentStateBase) => s as S;
      const ownWs = (ws: AgentWorkspace) => ws as unknown as W;
      return {
        ...info,
        values,
        init: (ctx) => init(ctx, values),
        workspace: (ctx) => workspace(ctx, values) as unknown as AgentWorkspace,
        step: (s, ctx, ws) => step(own(s), ctx, ownWs(ws), values),
        view: (s) => view(own(s)),
        ...(onViewChange ? { onViewChange: (s: AgentStateBase, ctx: AgentContext, ws: AgentWorkspace) => onViewChange(own(s), ctx, ownWs(ws), values) } : {}),
      };
    },
  };
}

export const ALGORITHMS: ReadonlyArray<RegisteredAlgorithm> = [
  // class G
  register(dSoba),
  register(dSobaFo),
  register(cdBsvrgd),
  register(vrdbo),
  register(mdbo),
  register(maDsbo),
  register(dsbo),
  register(gossipDsbo),
  register(sldbo),
  register(sparkle),
  // class P
  register(interact),
  register(svrInteract),
  register(gtDsgd),
  register(dSgd),
  register(lPdbo),
  register(spdb),
  register(prometheus),
  register(prometheusSg),
  register(prometheusDir),
  register(proxDsgd),
];

export function getAlgorithm(name: string, field = 'algorithm.name'): RegisteredAlgorithm {
  const found = ALGORITHMS.find((a) => a.name === name);
  if (!found) throw new ConfigError(field, `unknown algorithm '${name}' (known: ${ALGORITHMS.map((a) => a.name).join(', ')})`);
  return found;
}
