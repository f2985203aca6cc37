/**
 * A Server-Sent Events parser over a fetch body (the CLI cannot use `EventSource`: it must send the
 * API key header). Follows the WHATWG event-stream rules: `field: value` lines, a blank line
 * dispatches, `:` lines are comments (heartbeats), CR, LF and CRLF all end a line.
 */

export interface SseMessage {
  /** `message` when the server named none. */
  event: string;
  data: string;
  id?: string;
}

export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  const line = function* (text: string): Generator<SseMessage> {
    if (text === '') {
      if (data.length > 0) yield { event: event || 'message', data: data.join('\n'), id };
      event = '';
      data = [];
      return;
    }
    if (text.startsWith(':')) return;
    const i = text.indexOf(':');
    const field = i < 0 ? text : text.slice(0, i);
    let value = i < 0 ? '' : text.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (;;) {
      const m = /\r\n|\r|\n/.exec(buffer);
      // A lone CR at the end may be the first half of CRLF: wait for more.
      if (!m || (m[0] === '\r' && m.index === buffer.length - 1)) break;
      const text = buffer.slice(0, m.index);
      buffer = buffer.slice(m.index + m[0].length);
      yield* line(text);
    }
  }
  buffer += decoder.decode();
  if (buffer !== '') yield* line(buffer);
  yield* line('');
}
