// Named errors of the page, with a stable code, so the UI can say what went wrong without parsing messages.

export type RunboardErrorCode =
  /** a message from the host failed validation */
  | 'invalid_message'
  /** the host answered a request with an error; `message` is the host's */
  | 'request_failed'
  /** the host did not answer in time */
  | 'timeout'
  /** the page was closed or reloaded while the request waited */
  | 'disposed';

export class RunboardError extends Error {
  constructor(
    readonly code: RunboardErrorCode,
    message: string,
    /** the host's own code, for `request_failed` */
    readonly hostCode?: string,
  ) {
    super(message);
    this.name = 'RunboardError';
  }
}

