/**
 * The host programs a DC runs, by path: iproute2's ip and tc, nft, and the
 * python3 of the netem relay. The CLI fills them in from YAGURA_IP, YAGURA_TC,
 * YAGURA_NFT and YAGURA_PYTHON (src/cli/dc/environment.ts) and passes them
 * down; nothing here reads the environment.
 */
export interface HostTools {
  ip: string;
  tc: string;
  nft: string;
  python: string;
}

export const DEFAULT_IP = '/usr/sbin/ip';
export const DEFAULT_TC = '/usr/sbin/tc';
export const DEFAULT_NFT = '/usr/sbin/nft';
export const DEFAULT_PYTHON = 'python3';

export const DEFAULT_HOST_TOOLS: HostTools = { ip: DEFAULT_IP, tc: DEFAULT_TC, nft: DEFAULT_NFT, python: DEFAULT_PYTHON };
