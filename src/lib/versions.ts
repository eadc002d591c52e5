/**
 * The order of template versions (pure): IDs are dotted numbers such as
 * 1.2.3, compared numerically part by part (1.10 after 1.9; missing parts
 * count as 0). Shared by the boot server, which boots a role's highest
 * version, and `yagura node join`, which must pick the same one.
 */

export function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Oldest first. */
export function sortVersions(ids: readonly string[]): string[] {
  return [...ids].sort(compareVersions);
}

/** The highest version, the one machines boot. */
export function newestVersion(ids: readonly string[]): string | undefined {
  return sortVersions(ids).at(-1);
}
