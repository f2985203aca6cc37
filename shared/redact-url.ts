/**
 * Hides credentials in URLs before they are printed or logged (`redis://:secret@host:6379` →
 * `redis://:***@host:6379`). Works on strings that do not parse as URLs too.
 *
 * @example
 * redactUrl('redis://default:s3cret@cache.example:6379'); // 'redis://default:***@cache.example:6379'
 * redactUrlsIn('connect to https://tok@git.example/x?api_key=k failed'); // 'connect to https://***@git.example/x?api_key=*** failed'
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:?#]*):[^/?#]*@/i, '$1:***@');
}

/** Query parameters whose values are credentials (signed URLs, keys given in the query). */
const SECRET_PARAM = /([?&][\w.-]*?(?:api[_-]?key|password|passwd|secret|token|signature|credential|credentials|auth)=)[^&#\s"'<>]*/gi;
/** `scheme://userinfo@`: a password (`user:pass@`) or a bare token (`token@`). */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"'<>]*)@/gi;

/**
 * Every URL inside `text` with its user-info password (or bare token) and its credential-named
 * query values replaced by `***`. Cheap on text without `://` or `=`.
 */
export function redactUrlsIn(text: string): string {
  let out = text;
  if (out.includes('://')) {
    out = out.replace(USERINFO, (_m, scheme: string, info: string) => {
      const i = info.indexOf(':');
      return `${scheme}${i >= 0 ? `${info.slice(0, i)}:***` : '***'}@`;
    });
  }
  if (out.includes('=')) out = out.replace(SECRET_PARAM, '$1***');
  return out;
}
