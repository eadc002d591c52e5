/**
 * The session sequence number check for inbound in-session packets (IPMI v2.0
 * section 6.12.13): a packet is accepted once, and only if its number is at
 * most 16 past the highest accepted so far, or one of the 16 before that one
 * not yet seen. UDP may reorder or lose packets, so a strict "next number" rule would
 * break sessions; a replayed or far-off number is refused. The first packet of
 * a session sets the start, since consoles count their session-less packets
 * too (ipmitool's first in-session number is typically 4 or 5). Zero is never
 * valid. Numbers wrap modulo 2³².
 *
 * Only call `accept` for packets whose integrity code checked out, so that
 * forged packets cannot move the window.
 */
export type SequenceVerdict = 'accepted' | 'zero' | 'replayed' | 'too-old' | 'too-far-ahead';

export const SEQUENCE_WINDOW_AHEAD = 16;
export const SEQUENCE_WINDOW_BEHIND = 16;

export class SequenceWindow {
  private highest: number | undefined;
  /** Bit i set: number `highest - i` has been accepted (bit 0 is `highest` itself). */
  private seen = 0;

  accept(sequence: number): SequenceVerdict {
    const verdict = this.check(sequence);
    if (verdict !== 'accepted') return verdict;
    const seq = sequence >>> 0;
    if (this.highest === undefined) {
      this.highest = seq;
      this.seen = 1;
      return verdict;
    }
    const distance = (seq - this.highest) | 0;
    if (distance > 0) {
      this.seen = distance >= 32 ? 1 : ((this.seen << distance) | 1) >>> 0;
      this.highest = seq;
    } else {
      this.seen = (this.seen | (1 << -distance)) >>> 0;
    }
    return verdict;
  }

  /** What `accept` would say, without recording anything. */
  check(sequence: number): SequenceVerdict {
    const seq = sequence >>> 0;
    if (seq === 0) return 'zero';
    if (this.highest === undefined) return 'accepted';
    const distance = (seq - this.highest) | 0;
    if (distance > SEQUENCE_WINDOW_AHEAD) return 'too-far-ahead';
    if (distance > 0) return 'accepted';
    if (-distance > SEQUENCE_WINDOW_BEHIND) return 'too-old';
    return (this.seen >>> -distance) & 1 ? 'replayed' : 'accepted';
  }
}
