/** An error with a stable code that the problem+json filter renders as is. */
export interface FieldError {
  field: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string = title,
    readonly errors?: FieldError[],
    /** Extension members of the problem (RFC 9457 section 3.2), e.g. the budget a reservation would pass. */
    readonly extensions?: Record<string, unknown>,
  ) {
    super(detail);
  }
}

export const Errors = {
  validation: (detail: string, errors?: FieldError[]) =>
    new DomainError(400, 'validation_error', 'Request validation failed', detail, errors),
  unauthorized: (detail = 'A valid API key is required') => new DomainError(401, 'unauthorized', 'Unauthorized', detail),
  forbidden: (detail: string) => new DomainError(403, 'forbidden', 'Forbidden', detail),
  notFound: (code: string, detail: string) => new DomainError(404, code, 'Not found', detail),
  conflict: (code: string, detail: string) => new DomainError(409, code, 'Conflict', detail),
  insufficientFunds: (detail: string) => new DomainError(402, 'insufficient_funds', 'Insufficient funds', detail),
  walletFrozen: (ownerId: string) =>
    new DomainError(423, 'wallet_frozen', 'Wallet frozen', `Wallet ${ownerId} is frozen; spending is blocked`),
  unprocessable: (code: string, detail: string) => new DomainError(422, code, 'Unprocessable request', detail),
  unavailable: (code: string, detail: string) => new DomainError(503, code, 'Service unavailable', detail),
  unsupportedMediaType: (detail: string) => new DomainError(415, 'unsupported_media_type', 'Unsupported media type', detail),
};
