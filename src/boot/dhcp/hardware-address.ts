/** Client hardware addresses (chaddr) as text: lowercase hex bytes joined by colons, "aa:bb:cc:dd:ee:ff" for Ethernet. */

export function formatHardwareAddress(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The bytes of "aa:bb:…" (either case), or undefined when the text is not that; "" is zero bytes. */
export function parseHardwareAddress(text: string): Buffer | undefined {
  if (text === '') return Buffer.alloc(0);
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*$/.test(text)) return undefined;
  return Buffer.from(text.replaceAll(':', ''), 'hex');
}
