/**
 * Numbers from the IPMI v2.0 specification (rev 1.1) that more than one module
 * of the virtual BMC needs: network functions, commands, completion codes,
 * privilege levels, RMCP+ payload types and RAKP status codes.
 */

/** Network functions of requests; the response's is one higher. */
export const NetFn = {
  CHASSIS: 0x00,
  APP: 0x06,
} as const;

export const AppCommand = {
  GET_DEVICE_ID: 0x01,
  GET_CHANNEL_AUTH_CAPABILITIES: 0x38,
  SET_SESSION_PRIVILEGE_LEVEL: 0x3b,
  CLOSE_SESSION: 0x3c,
  GET_CHANNEL_CIPHER_SUITES: 0x54,
} as const;

export const ChassisCommand = {
  GET_CHASSIS_STATUS: 0x01,
  CHASSIS_CONTROL: 0x02,
  SET_SYSTEM_BOOT_OPTIONS: 0x08,
  GET_SYSTEM_BOOT_OPTIONS: 0x09,
} as const;

/** Completion codes (spec table 5-2, and the command-specific ones we use). */
export const Completion = {
  OK: 0x00,
  /** Set Session Privilege Level: above the channel / user limit. Get/Set System Boot Options: unknown parameter. */
  COMMAND_SPECIFIC_80: 0x80,
  /** Set Session Privilege Level: above the session's maximum. Set System Boot Options: "set in progress" twice. */
  COMMAND_SPECIFIC_81: 0x81,
  /** Close Session: no such session. */
  INVALID_SESSION_ID: 0x87,
  INVALID_COMMAND: 0xc1,
  REQUEST_DATA_LENGTH_INVALID: 0xc7,
  INVALID_DATA_FIELD: 0xcc,
  INSUFFICIENT_PRIVILEGE: 0xd4,
  UNSPECIFIED_ERROR: 0xff,
} as const;

/** Session privilege levels; a session starts at USER (or its maximum, if lower). */
export const Privilege = {
  CALLBACK: 1,
  USER: 2,
  OPERATOR: 3,
  ADMINISTRATOR: 4,
  OEM: 5,
} as const;

export type Privilege = (typeof Privilege)[keyof typeof Privilege];

/** The highest privilege this BMC's one user has. */
export const MAX_PRIVILEGE: Privilege = Privilege.ADMINISTRATOR;

/** RMCP+ payload types (spec table 13-16), the low 6 bits of the payload type byte. */
export const PayloadType = {
  IPMI: 0x00,
  SOL: 0x01,
  OEM_EXPLICIT: 0x02,
  OPEN_SESSION_REQUEST: 0x10,
  OPEN_SESSION_RESPONSE: 0x11,
  RAKP_1: 0x12,
  RAKP_2: 0x13,
  RAKP_3: 0x14,
  RAKP_4: 0x15,
} as const;

/** RMCP+ and RAKP message status codes (spec table 13-15). */
export const RakpStatus = {
  NO_ERRORS: 0x00,
  INSUFFICIENT_RESOURCES: 0x01,
  INVALID_SESSION_ID: 0x02,
  INVALID_PAYLOAD_TYPE: 0x03,
  INVALID_AUTHENTICATION_ALGORITHM: 0x04,
  INVALID_INTEGRITY_ALGORITHM: 0x05,
  NO_MATCHING_AUTHENTICATION_PAYLOAD: 0x06,
  NO_MATCHING_INTEGRITY_PAYLOAD: 0x07,
  INACTIVE_SESSION_ID: 0x08,
  INVALID_ROLE: 0x09,
  UNAUTHORIZED_ROLE: 0x0a,
  INSUFFICIENT_RESOURCES_FOR_ROLE: 0x0b,
  INVALID_NAME_LENGTH: 0x0c,
  UNAUTHORIZED_NAME: 0x0d,
  UNAUTHORIZED_GUID: 0x0e,
  INVALID_INTEGRITY_CHECK_VALUE: 0x0f,
  INVALID_CONFIDENTIALITY_ALGORITHM: 0x10,
  NO_CIPHER_SUITE_MATCH: 0x11,
  ILLEGAL_PARAMETER: 0x12,
} as const;

/** The session "auth type / format" byte: IPMI 1.5 auth types, or 06h for an RMCP+ (IPMI 2.0) session header. */
export const AuthType = {
  NONE: 0x00,
  MD2: 0x01,
  MD5: 0x02,
  STRAIGHT_PASSWORD: 0x04,
  OEM: 0x05,
  RMCP_PLUS: 0x06,
} as const;

/** This BMC's one LAN channel; requests may also name it as 0Eh, "the channel this request came in on". */
export const LAN_CHANNEL = 0x01;
export const CURRENT_CHANNEL = 0x0e;

/** The BMC's IPMB slave address, and the software ID remote consoles use as requester. */
export const BMC_ADDRESS = 0x20;
