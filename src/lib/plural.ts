/** "1 VM", "2 VMs": a count and its noun, for people. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
