/**
 * Redfish error responses. Every failure a client sees has the shape the
 * Redfish specification asks for — an `error` object with a code, a message
 * and `@Message.ExtendedInfo` entries from the DMTF Base message registry — so
 * Redfish tools can show what went wrong. The registry version is 1.8, the
 * one iDRAC 9 firmware of the same era reports.
 */

const REGISTRY = 'Base.1.8';

export interface ExtendedInfo {
  '@odata.type': string;
  MessageId: string;
  Message: string;
  MessageArgs: string[];
  Severity: 'OK' | 'Warning' | 'Critical';
  Resolution: string;
  /** JSON pointers to the properties of the request the message is about. */
  RelatedProperties?: string[];
}

export interface RedfishErrorBody {
  error: {
    code: string;
    message: string;
    '@Message.ExtendedInfo': ExtendedInfo[];
  };
}

/** A request the service refuses, with the HTTP status and headers to answer with. */
export class RedfishError extends Error {
  override name = 'RedfishError';
  constructor(
    readonly status: number,
    readonly info: ExtendedInfo,
    readonly headers: Record<string, string> = {},
  ) {
    super(info.Message);
  }

  get body(): RedfishErrorBody {
    return errorBody(this.info);
  }
}

/** The error body for one message; the top-level code is GeneralError as the specification recommends. */
export function errorBody(info: ExtendedInfo): RedfishErrorBody {
  return {
    error: {
      code: `${REGISTRY}.GeneralError`,
      message: info.Message,
      '@Message.ExtendedInfo': [info],
    },
  };
}

function message(
  id: string,
  text: string,
  args: string[],
  resolution: string,
  options: { severity?: ExtendedInfo['Severity']; property?: string } = {},
): ExtendedInfo {
  return {
    '@odata.type': '#Message.v1_1_1.Message',
    MessageId: `${REGISTRY}.${id}`,
    Message: text,
    MessageArgs: args,
    Severity: options.severity ?? 'Warning',
    Resolution: resolution,
    ...(options.property !== undefined ? { RelatedProperties: [`#/${options.property.replaceAll('.', '/')}`] } : {}),
  };
}

export const REALM = 'Yagura BMC';

export function noValidSession(): RedfishError {
  return new RedfishError(
    401,
    message(
      'NoValidSession',
      'There is no valid session established with the implementation.',
      [],
      'Authenticate with HTTP Basic or an X-Auth-Token from POST /redfish/v1/SessionService/Sessions.',
      { severity: 'Critical' },
    ),
    { 'WWW-Authenticate': `Basic realm="${REALM}"` },
  );
}

export function loginRefused(): RedfishError {
  return new RedfishError(
    401,
    message(
      'NoValidSession',
      'The user name or password is not correct.',
      [],
      'Check UserName and Password and resubmit the request.',
      { severity: 'Critical' },
    ),
    { 'WWW-Authenticate': `Basic realm="${REALM}"` },
  );
}

export function resourceMissing(uri: string): RedfishError {
  return new RedfishError(
    404,
    message(
      'ResourceMissingAtURI',
      `The resource at the URI ${uri} was not found.`,
      [uri],
      'Check the URI; GET /redfish/v1 lists what this service offers.',
      { severity: 'Critical' },
    ),
  );
}

export function methodNotAllowed(method: string, uri: string, allowed: readonly string[]): RedfishError {
  const allow = allowed.join(', ');
  return new RedfishError(
    405,
    message('GeneralError', `The method ${method} is not allowed on ${uri}.`, [], `Use one of: ${allow}.`, {
      severity: 'Critical',
    }),
    { Allow: allow },
  );
}

export function malformedJson(detail: string): RedfishError {
  return new RedfishError(
    400,
    message(
      'MalformedJSON',
      `The request body submitted was malformed JSON and could not be parsed by the receiving service: ${detail}.`,
      [],
      'Ensure that the request body is a valid JSON object and resubmit the request.',
      { severity: 'Critical' },
    ),
  );
}

export function bodyTooLarge(limit: number): RedfishError {
  return new RedfishError(
    413,
    message('GeneralError', `The request body is larger than ${limit} bytes.`, [], 'Send a smaller body.', {
      severity: 'Critical',
    }),
  );
}

export function emptyJson(what: string): RedfishError {
  return new RedfishError(
    400,
    message(
      'EmptyJSON',
      `The request body submitted contained an empty JSON object and the service is unable to process it: ${what}.`,
      [],
      'Add properties in the JSON object and resubmit the request.',
    ),
  );
}

export function actionParameterMissing(action: string, parameter: string): RedfishError {
  return new RedfishError(
    400,
    message(
      'ActionParameterMissing',
      `The action ${action} requires the parameter ${parameter} to be present in the request body.`,
      [action, parameter],
      'Supply the action with the required parameter in the request body when the request is resubmitted.',
      { severity: 'Critical', property: parameter },
    ),
  );
}

export function actionParameterUnknown(action: string, parameter: string): RedfishError {
  return new RedfishError(
    400,
    message(
      'ActionParameterUnknown',
      `The action ${action} was submitted with the invalid parameter ${parameter}.`,
      [action, parameter],
      'Correct the invalid parameter and resubmit the request.',
      { property: parameter },
    ),
  );
}

export function propertyUnknown(property: string, known: readonly string[]): RedfishError {
  return new RedfishError(
    400,
    message(
      'PropertyUnknown',
      `The property ${property} is not in the list of valid properties for the resource.`,
      [property],
      `Remove the unknown property from the request body; this resource accepts ${known.join(', ')}.`,
      { property },
    ),
  );
}

export function propertyValueNotInList(property: string, value: unknown, allowed: readonly string[]): RedfishError {
  const shown = typeof value === 'string' ? value : JSON.stringify(value);
  return new RedfishError(
    400,
    message(
      'PropertyValueNotInList',
      `The value ${shown} for the property ${property} is not in the list of acceptable values (${allowed.join(', ')}).`,
      [shown, property],
      `Choose one of ${allowed.join(', ')} and resubmit the request.`,
      { property },
    ),
  );
}

export function propertyValueTypeError(property: string, value: unknown, expected: string): RedfishError {
  const shown = JSON.stringify(value) ?? String(value);
  return new RedfishError(
    400,
    message(
      'PropertyValueTypeError',
      `The value ${shown} for the property ${property} is of a different type than the property can accept (${expected}).`,
      [shown, property],
      `Send ${property} as ${expected} and resubmit the request.`,
      { property },
    ),
  );
}

export function createFailedMissingProperty(property: string): RedfishError {
  return new RedfishError(
    400,
    message(
      'CreateFailedMissingReqProperties',
      `The create operation failed because the required property ${property} was missing from the request.`,
      [property],
      'Correct the body to include the required property with a valid value and resubmit the request.',
      { severity: 'Critical', property },
    ),
  );
}

/** The machine is already in the state the request asks for (placemat answers these with 409 too). */
export function powerStateConflict(resourceId: string, resetType: string, power: 'On' | 'Off'): RedfishError {
  const id = power === 'On' ? 'ChassisPowerStateOffRequired' : 'ChassisPowerStateOnRequired';
  const needed = power === 'On' ? 'off' : 'on';
  return new RedfishError(
    409,
    message(
      id,
      `ResetType ${resetType} needs ${resourceId} to be powered ${needed}, and it is ${power.toLowerCase()}.`,
      [resourceId],
      `Power ${resourceId} ${needed} first, or choose another ResetType.`,
    ),
  );
}

export function sessionLimitReached(limit: number): RedfishError {
  return new RedfishError(
    503,
    message(
      'SessionLimitExceeded',
      `The session establishment failed due to the number of simultaneous sessions exceeding the limit of the implementation (${limit}).`,
      [],
      'Reduce the number of other sessions (DELETE them) before trying to establish the session.',
      { severity: 'Critical' },
    ),
  );
}

/** A failure on the BMC's side, such as the machine's QEMU not answering; `reason` says what, for the operator. */
export function internalError(reason: string): RedfishError {
  return new RedfishError(
    500,
    message(
      'InternalError',
      `The request failed due to an internal service error: ${reason}. The service is still operational.`,
      [],
      'Resubmit the request.  If the problem persists, look at the BMC log.',
      { severity: 'Critical' },
    ),
  );
}

/** The caller's role lacks the privilege the request needs (Redfish's privilege model). */
export function insufficientPrivilege(needed: string): RedfishError {
  return new RedfishError(
    403,
    message(
      'InsufficientPrivilege',
      `There are insufficient privileges for the account or credentials associated with the current session to perform the requested operation (it needs ${needed}).`,
      [],
      'Either abandon the operation or change the associated access rights and resubmit the request if the operation failed.',
      { severity: 'Critical' },
    ),
  );
}

/** A value of the right type in the wrong form; `shown` is what to echo (never a password). */
export function propertyValueFormatError(property: string, shown: string, why: string): RedfishError {
  return new RedfishError(
    400,
    message(
      'PropertyValueFormatError',
      `The value ${shown} for the property ${property} is of a different format than the property can accept: ${why}.`,
      [shown, property],
      'Correct the value for the property in the request body and resubmit the request.',
      { property },
    ),
  );
}

export function resourceAlreadyExists(type: string, property: string, value: string): RedfishError {
  return new RedfishError(
    400,
    message(
      'ResourceAlreadyExists',
      `The requested resource of type ${type} with the property ${property} with the value ${value} already exists.`,
      [type, property, value],
      'Do not repeat the create operation as the resource has already been created.',
      { severity: 'Critical', property },
    ),
  );
}

/** An account change the table refuses as a whole (a reserved slot, the last Administrator); `why` says which. */
export function accountNotModified(why: string): RedfishError {
  return new RedfishError(
    400,
    message('AccountNotModified', `The account modification request failed: ${why}.`, [], 'Change the request and resubmit it.'),
  );
}
