import type { AxiosResponse } from 'axios';
import type { ResponseHeaders } from '@nectar/core/http';

/**
 * axios hands headers over as an AxiosHeaders object whose values may be numbers or booleans
 * after an interceptor touched them; core and httpStatusError take plain strings.
 */
export function plainHeaders(response: Pick<AxiosResponse, 'headers'>): ResponseHeaders {
  const plain: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined || value === null || typeof value === 'object' && !Array.isArray(value)) continue;
    plain[name.toLowerCase()] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return plain;
}
