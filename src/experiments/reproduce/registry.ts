/** The 15 experiments of the five source papers as presets, in paper order (`dbo reproduce --list`). */
import { ConfigError } from '../../errors.ts';
import type { Preset } from './preset.ts';
import { e31 } from './presets/estimator.ts';
import { e12, e13, e14, e15, e32, e33 } from './presets/meta-learning.ts';
import { e01, e02, e03 } from './presets/seed000.ts';
import { e21, e22, e23 } from './presets/seed002.ts';
import { e41, e42 } from './presets/seed004.ts';

export const PRESETS: ReadonlyArray<Preset> = [e01, e02, e03, e12, e13, e14, e15, e21, e22, e23, e31, e32, e33, e41, e42];

/** The preset with this ID or alias (case-insensitive; 'E0-1', 'e0-1' and 'seed000-fig1' name the same one). */
export function findPreset(name: string): Preset {
  const key = name.toLowerCase();
  const preset = PRESETS.find((p) => p.id === key || p.aliases?.includes(key));
  if (!preset) throw new ConfigError('experiment', `unknown experiment '${name}' (known: ${PRESETS.map((p) => p.id).join(', ')}; dbo reproduce --list describes them)`);
  return preset;
}
