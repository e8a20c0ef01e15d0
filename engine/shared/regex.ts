/**
 * Compiles a policy regex once, at compile time. Policies are often written by people used to
 * PCRE/RE2, so a leading `(?i)` (and `(?s)`, `(?m)`, combined as `(?is)`) is translated into
 * JavaScript flags; Node 20's RegExp has no inline modifiers.
 */
export function compileRegex(source: string): { ok: true; regex: RegExp } | { ok: false; message: string } {
  let flags = 'u';
  let body = source;
  const inline = /^\(\?([ims]+)\)/.exec(source);
  if (inline) {
    for (const f of new Set(inline[1])) flags += f;
    body = source.slice(inline[0].length);
  }
  try {
    return { ok: true, regex: new RegExp(body, flags) };
  } catch (err) {
    const message =
      err instanceof Error ? err.message.replace(/^Invalid regular expression: /, '') : String(err);
    return { ok: false, message };
  }
}
