/** Stable error codes with the HTTP status each maps to. */
export const ErrorCodes = {
  BadRequest: { code: "FERRY_ERR_BAD_REQUEST", status: 400 },
  BadCallbackUrl: { code: "FERRY_ERR_BAD_CALLBACK_URL", status: 400 },
  BadCallId: { code: "FERRY_ERR_BAD_CALL_ID", status: 400 },
  Unauthorized: { code: "FERRY_ERR_UNAUTHORIZED", status: 401 },
  Forbidden: { code: "FERRY_ERR_FORBIDDEN", status: 403 },
  NotFound: { code: "FERRY_ERR_NOT_FOUND", status: 404 },
  FunctionNotFound: { code: "FERRY_ERR_FUNCTION_NOT_FOUND", status: 404 },
  CallNotFound: { code: "FERRY_ERR_CALL_NOT_FOUND", status: 404 },
  ResultNotReady: { code: "FERRY_ERR_RESULT_NOT_READY", status: 409 },
  ResultNotStored: { code: "FERRY_ERR_RESULT_NOT_STORED", status: 410 },
  RequestTimeout: { code: "FERRY_ERR_REQUEST_TIMEOUT", status: 408 },
  MethodNotAllowed: { code: "FERRY_ERR_METHOD_NOT_ALLOWED", status: 405 },
  Conflict: { code: "FERRY_ERR_CONFLICT", status: 409 },
  PayloadTooLarge: { code: "FERRY_ERR_PAYLOAD_TOO_LARGE", status: 413 },
  UnsupportedMediaType: { code: "FERRY_ERR_UNSUPPORTED_MEDIA_TYPE", status: 415 },
  TooManyRequests: { code: "FERRY_ERR_TOO_MANY_REQUESTS", status: 429 },
  HeadersTooLarge: { code: "FERRY_ERR_HEADERS_TOO_LARGE", status: 431 },
  Internal: { code: "FERRY_ERR_INTERNAL", status: 500 },
  BadGateway: { code: "FERRY_ERR_BAD_GATEWAY", status: 502 },
  Unavailable: { code: "FERRY_ERR_UNAVAILABLE", status: 503 },
  Timeout: { code: "FERRY_ERR_TIMEOUT", status: 504 },
} as const;
export type ErrorKind = keyof typeof ErrorCodes;
export type ErrorCode = (typeof ErrorCodes)[ErrorKind]["code"];

/** The JSON body of every error response: `{ error: { code, message } }`. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** An error with a stable code and HTTP status, safe to show to the caller. */
export class FerryError extends Error {
  override name = "FerryError";
  readonly code: ErrorCode;
  readonly status: number;
  constructor(kind: ErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = ErrorCodes[kind].code;
    this.status = ErrorCodes[kind].status;
  }

  /** The response body for this error. */
  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Builds an error body without an Error instance. */
export function errorBody(kind: ErrorKind, message: string): ErrorBody {
  return { error: { code: ErrorCodes[kind].code, message } };
}
