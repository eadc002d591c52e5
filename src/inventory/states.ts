/** The machine lifecycle: which state changes are allowed (pure). */
import { type MachineState, TRANSITIONS } from './model.js';

export type TransitionCheck = { kind: 'change' } | { kind: 'same' } | { kind: 'forbidden'; message: string };

export function checkTransition(from: MachineState, to: MachineState): TransitionCheck {
  if (from === to) return { kind: 'same' };
  if (TRANSITIONS[from].includes(to)) return { kind: 'change' };
  const allowed = TRANSITIONS[from];
  return {
    kind: 'forbidden',
    message: `transition from ${from} to ${to} is forbidden (from ${from} a machine may go to: ${allowed.join(', ')})`,
  };
}
