import type { Case } from './run.ts';
export function mlpCases(): Case[] {
  return [];
}
