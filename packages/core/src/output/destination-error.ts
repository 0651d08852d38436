import { NectarError, toNectarError } from '../errors.js';

/** The one error for a destination that cannot be written, opened or moved, whichever thread met it. */
export function destinationError(path: string, error: unknown, what: string): NectarError {
  if (error instanceof NectarError && error.code === 'NECTAR_DESTINATION') return error;
  const cause = toNectarError(error);
  return new NectarError('NECTAR_DESTINATION', `cannot ${what} ${path}: ${cause.message}`, {
    cause: error,
    details: { destination: path, errno: cause.details.errno },
  });
}
