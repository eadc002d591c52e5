/** Errors of the inventory that map to an HTTP status and name the offending field. */
export class InventoryError extends Error {
  override name = 'InventoryError';
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 413 | 503,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new InventoryError(404, `${what} not found`);
export const conflict = (message: string, field?: string) => new InventoryError(409, message, field);
export const invalid = (message: string, field?: string) => new InventoryError(400, message, field);
