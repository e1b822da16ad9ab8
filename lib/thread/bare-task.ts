/**
 * Whether a task function can never read its second argument, its `TaskContext`: then the values
 * of a job of several are called without one, and a context is made only for a value that returns
 * an object (a promise, a generator), where cancelling and abandoning need it.
 *
 * Why: making, ending and collecting a context per value was about a quarter of a pool thread's
 * cost per tiny value. Only sure cases count as bare, from the function's own source: fewer than
 * two parameters by `length`, no rest or default parameter (which `length` does not count), and
 * neither `arguments` nor `eval` anywhere in its text, nor a `\u` escape (which could spell
 * either). Anything the check does not follow (native or bound functions, classes, a quote, a
 * comment or a computed name before the body) gets its context as before.
 */
export function isBareTask(fn: (...args: never[]) => unknown): boolean {
  if (fn.length >= 2) return false;
  let source: string;
  try {
    source = Function.prototype.toString.call(fn);
  } catch {
    return false;
  }
  // `\u`: an escape may spell either name (`argument\u0073`), as an identifier's escapes are allowed.
  if (/\b(?:arguments|eval)\b|\\u|\[native code\]|^class\b/.test(source)) return false;
  const params = parameterText(source.replace(/^async\s+/, ''));
  return params !== undefined && !params.includes('...') && !params.includes('=');
}

/**
 * The text of a function's one parameter (or none), or `undefined` where it has more (whatever its
 * `length` says: it may be redefined) or the text cannot be told for sure.
 */
function parameterText(source: string): string | undefined {
  // `x => …`: one parameter, without a default.
  const single = /^[\p{L}\p{Nl}$_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}$\u200c\u200d]*\s*=>/u.exec(source);
  if (single !== null) return single[0].slice(0, -2);
  const open = source.indexOf('(');
  // Before the parameters: `function name`, `function*`, `*name`, a method's plain name.
  if (open < 0 || /[[\]'"`/(){}=]/.test(source.slice(0, open))) return undefined;
  let depth = 0;
  for (let at = open + 1; at < source.length; at++) {
    const char = source[at]!;
    if (char === '"' || char === "'" || char === '`' || char === '/') return undefined;
    if (char === ',' && depth === 0) return undefined;
    if (char === '(' || char === '[' || char === '{') depth++;
    else if (char === ')' || char === ']' || char === '}') {
      if (depth === 0) return char === ')' ? source.slice(open + 1, at) : undefined;
      depth--;
    }
  }
  return undefined;
}
