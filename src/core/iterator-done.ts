/**
 * The result every hand-written async iterator of the gateway returns once it is finished: one frozen object,
 * shared, so that ending a stream (or asking a finished one again) allocates nothing.
 */
export const ITERATOR_DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
