/** KVM when the host really can (a /dev/kvm and a CPU with VMX/SVM), else TCG; `forced` (the CLI's YAGURA_QEMU_ACCEL) overrides. */
import { existsSync, readFileSync } from 'node:fs';
import type { Accel } from './qemu-args.js';

export function detectAccel(forced?: Accel): Accel {
  if (forced === 'kvm' || forced === 'tcg') return forced;
  if (!existsSync('/dev/kvm')) return 'tcg';
  try {
    // /dev/kvm without VMX/SVM (e.g. in some nested setups) accepts the ioctl and then hangs the guest.
    return /^flags\s*:.*\b(vmx|svm)\b/m.test(readFileSync('/proc/cpuinfo', 'utf8')) ? 'kvm' : 'tcg';
  } catch {
    return 'tcg';
  }
}
