/**
 * Restorable dropped database ids are `{name},{deletion time as a Windows FILETIME}` (100 ns ticks since
 * 1601-01-01 UTC): `testdb,131403269876900000` is 2017-05-27T02:49:47.690Z (pitr-fog.md §1.3).
 */
const EPOCH_DIFF_MS = 11_644_473_600_000n;

export const toFiletime = (ms: number): string => ((BigInt(Math.trunc(ms)) + EPOCH_DIFF_MS) * 10_000n).toString();

export function fromFiletime(ticks: string): number | undefined {
  if (!/^\d{1,20}$/.test(ticks)) return undefined;
  return Number(BigInt(ticks) / 10_000n - EPOCH_DIFF_MS);
}

export const droppedName = (database: string, deletedAt: number): string => `${database},${toFiletime(deletedAt)}`;

/** Splits `{name},{filetime}`; the database name itself cannot contain a comma-digits tail. */
export function parseDroppedName(name: string): { database: string; deletedAt: number } | undefined {
  const m = /^(.+),(\d{1,20})$/.exec(name);
  if (!m) return undefined;
  const deletedAt = fromFiletime(m[2]!);
  return deletedAt === undefined ? undefined : { database: m[1]!, deletedAt };
}
