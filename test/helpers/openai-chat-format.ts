/**
 * A strict check of one line of OpenAI's chat fine-tuning format (`{"messages": [...]}`, with
 * optional `tools` and `parallel_tool_calls`): every key must be one the format defines, `weight`
 * (0 or 1) only on assistant messages, contents non-empty strings, at least one assistant
 * message. Throws an AssertionError naming the first fault.
 */
import assert from 'node:assert/strict';

const LINE_KEYS = new Set(['messages', 'tools', 'parallel_tool_calls']);
const MESSAGE_KEYS: Record<string, Set<string>> = {
  system: new Set(['role', 'content', 'name']),
  developer: new Set(['role', 'content', 'name']),
  user: new Set(['role', 'content', 'name']),
  assistant: new Set(['role', 'content', 'name', 'weight', 'tool_calls', 'refusal']),
  tool: new Set(['role', 'content', 'tool_call_id']),
};

export function assertOpenaiChatLine(line: unknown): void {
  assert.ok(line && typeof line === 'object' && !Array.isArray(line), 'a line is a JSON object');
  const o = line as Record<string, unknown>;
  for (const k of Object.keys(o))
    assert.ok(LINE_KEYS.has(k), `unknown key "${k}" in the line (the format defines ${[...LINE_KEYS].join(', ')})`);
  assert.ok(Array.isArray(o.messages) && o.messages.length > 0, 'messages is a non-empty list');
  let assistants = 0;
  for (const [i, m] of (o.messages as Record<string, unknown>[]).entries()) {
    const allowed = MESSAGE_KEYS[String(m.role)];
    assert.ok(allowed, `messages[${i}].role "${String(m.role)}" is not a role of the format`);
    for (const k of Object.keys(m)) assert.ok(allowed.has(k), `unknown key "${k}" in messages[${i}] (role ${String(m.role)})`);
    assert.ok(typeof m.content === 'string' && m.content.trim() !== '', `messages[${i}].content is a non-empty string`);
    if ('weight' in m) assert.ok(m.weight === 0 || m.weight === 1, `messages[${i}].weight is 0 or 1`);
    if (m.role === 'assistant') assistants++;
  }
  assert.ok(assistants > 0, 'at least one assistant message');
}
