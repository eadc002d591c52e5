/**
 * The ports BMCs answer on: IPMI over LAN and Redfish's HTTPS. Real BMCs use
 * the standard ones; a virtual DC's may be told others, and whoever talks to
 * them (the repair queue, `yagura dc`) is told the same through the same
 * variables.
 */
export interface BmcPorts {
  /** IPMI over LAN (UDP), YAGURA_BMC_IPMI_PORT. */
  ipmi: number;
  /** Redfish (HTTPS), YAGURA_BMC_REDFISH_PORT. */
  redfish: number;
}

export const DEFAULT_BMC_PORTS: BmcPorts = { ipmi: 623, redfish: 443 };

/** The ports from YAGURA_BMC_IPMI_PORT and YAGURA_BMC_REDFISH_PORT in `env` (a command's entry point passes process.env). */
export function bmcPortsFrom(env: Record<string, string | undefined>): BmcPorts {
  return {
    ipmi: Number(env.YAGURA_BMC_IPMI_PORT ?? DEFAULT_BMC_PORTS.ipmi),
    redfish: Number(env.YAGURA_BMC_REDFISH_PORT ?? DEFAULT_BMC_PORTS.redfish),
  };
}
