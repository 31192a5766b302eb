/** Lists a zod object schema's keys with type, default and description, for `dbo algorithms`. */
import type { z } from 'zod';

export function describeParams(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape) return [];
  return Object.entries(shape).map(([key, field]) => {
    const description = field.description ?? '';
    const parsed = field.safeParse(undefined);
    const dflt = !parsed.success ? ' (required)' : parsed.data !== undefined ? ` (default ${JSON.stringify(parsed.data)})` : ' (optional)';
    return `${key}${dflt}${description ? ` — ${description}` : ''}`;
  });
}
