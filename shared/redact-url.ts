/**
 * Hides the password in a URL before it is printed or logged (`redis://:secret@host:6379` →
 * `redis://:***@host:6379`). Works on strings that do not parse as URLs too.
 *
 * @example
 * redactUrl('redis://default:s3cret@cache.example:6379'); // 'redis://default:***@cache.example:6379'
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:?#]*):[^/?#]*@/i, '$1:***@');
}
