/**
 * restJson1 errors exactly as the AWS SDK v3 parses them (protocol.md §2.3): the status from the model,
 * the shape name in `x-amzn-ErrorType`, and a JSON body carrying `__type`, `message` and `Message`.
 */
export class ApiError extends Error {
  constructor(
    /** The modelled shape name, e.g. `AccessDeniedException`. */
    readonly type: string,
    readonly status: number,
    message: string,
    /** Extra modelled members, e.g. `ResourceId`/`ResourceType` or `Reason`. */
    readonly members: Record<string, string> = {},
  ) {
    super(message);
    this.name = type;
  }

  body(): Record<string, string> {
    return { __type: this.type, message: this.message, Message: this.message, ...this.members };
  }
}

/** Which service a route belongs to: the two use different shape names for the same failure. */
export type Service = 'connect' | 'participant';

export const accessDenied = (message = 'Access denied') =>
  new ApiError('AccessDeniedException', 403, message);

/**
 * A rate limit hit. StartChatContact answers TooManyRequestsException (protocol.md §1.4, its model has no
 * ThrottlingException); the other operations ThrottlingException.
 */
export const throttled = (operation: string, message = 'Rate exceeded') =>
  operation === 'StartChatContact'
    ? new ApiError('TooManyRequestsException', 429, message)
    : new ApiError('ThrottlingException', 429, message);

export const internalError = (service: Service, message = 'Internal server error') =>
  service === 'connect'
    ? new ApiError('InternalServiceException', 500, message)
    : new ApiError('InternalServerException', 500, message);

/** A bad parameter value: `InvalidParameterException` on Connect, `ValidationException` on ACPS. */
export const invalidParameter = (service: Service, message: string) =>
  service === 'connect'
    ? new ApiError('InvalidParameterException', 400, message)
    : new ApiError('ValidationException', 400, message);

/** A request that is well formed but not allowed in the current state. */
export const invalidRequest = (service: Service, message: string) =>
  service === 'connect'
    ? new ApiError('InvalidRequestException', 400, message)
    : new ApiError('ValidationException', 400, message);

export const conflict = (message: string) => new ApiError('ConflictException', 409, message);

export const resourceNotFound = (message: string, resourceType?: string, resourceId?: string) =>
  new ApiError(
    'ResourceNotFoundException',
    404,
    message,
    resourceType && resourceId ? { ResourceType: resourceType, ResourceId: resourceId } : {},
  );

/** Non-modelled errors that the AWS front door itself returns. */
export const serializationError = (message: string) => new ApiError('SerializationException', 400, message);
export const unknownOperation = () => new ApiError('UnknownOperationException', 404, 'Unknown operation');
export const payloadTooLarge = () =>
  new ApiError('RequestEntityTooLargeException', 413, 'Request entity too large');
export const missingAuthentication = () =>
  new ApiError('MissingAuthenticationTokenException', 403, 'Missing Authentication Token');
