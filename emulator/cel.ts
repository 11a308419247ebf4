// A small subset of CEL, enough for Workload Identity attribute mappings and conditions:
// `assertion.x` / `attribute.x` / `google.x` selectors, string literals, `==`, `!=`, `&&`, `||`, `!`,
// parentheses, `in [..]`, and the string methods startsWith / endsWith / contains.
type Value = string | boolean | string[] | undefined;

type Token = { t: 'id'; v: string } | { t: 'str'; v: string } | { t: 'op'; v: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\') j++;
        s += src[j] ?? '';
        j++;
      }
      if (j >= src.length) throw new Error(`unterminated string in ${src}`);
      out.push({ t: 'str', v: s });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < src.length && /[A-Za-z0-9_.]/.test(src[j]!)) j++;
      out.push({ t: 'id', v: src.slice(i, j) });
      i = j;
    } else {
      const two = src.slice(i, i + 2);
      if (['==', '!=', '&&', '||'].includes(two)) {
        out.push({ t: 'op', v: two });
        i += 2;
      } else if ('()[],!'.includes(c)) {
        out.push({ t: 'op', v: c });
        i++;
      } else {
        throw new Error(`unexpected '${c}' in ${src}`);
      }
    }
  }
  return out;
}

export function evaluateCel(src: string, vars: Record<string, Record<string, unknown>>): Value {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const eat = (v?: string): Token => {
    const tok = tokens[pos++];
    if (!tok || (v !== undefined && tok.v !== v)) throw new Error(`expected ${v ?? 'a token'} in ${src}`);
    return tok;
  };

  function primary(): Value {
    const tok = eat();
    if (tok.t === 'str') return tok.v;
    if (tok.t === 'op' && tok.v === '(') {
      const v = or();
      eat(')');
      return v;
    }
    if (tok.t === 'op' && tok.v === '!') return !truthy(primary());
    if (tok.t === 'op' && tok.v === '[') {
      const items: string[] = [];
      while (peek()?.v !== ']') {
        items.push(String(or()));
        if (peek()?.v === ',') eat(',');
      }
      eat(']');
      return items;
    }
    if (tok.t === 'id') {
      if (tok.v === 'true' || tok.v === 'false') return tok.v === 'true';
      const parts = tok.v.split('.');
      const method = peek()?.v === '(' ? parts.pop() : undefined;
      const [root, ...path] = parts;
      let value: unknown = root !== undefined ? vars[root] : undefined;
      for (const p of path)
        value = value && typeof value === 'object' ? (value as Record<string, unknown>)[p] : undefined;
      const str = value === undefined || value === null ? undefined : String(value);
      if (method) {
        eat('(');
        const arg = String(or());
        eat(')');
        if (str === undefined) return false;
        if (method === 'startsWith') return str.startsWith(arg);
        if (method === 'endsWith') return str.endsWith(arg);
        if (method === 'contains') return str.includes(arg);
        throw new Error(`unsupported function ${method} in ${src}`);
      }
      return str;
    }
    throw new Error(`unexpected '${tok.v}' in ${src}`);
  }

  function comparison(): Value {
    const left = primary();
    const op = peek();
    if (op?.v === '==' || op?.v === '!=') {
      eat();
      const right = primary();
      const equal = left === right;
      return op.v === '==' ? equal : !equal;
    }
    if (op?.t === 'id' && op.v === 'in') {
      eat();
      const right = primary();
      return Array.isArray(right) && typeof left === 'string' && right.includes(left);
    }
    return left;
  }

  function and(): Value {
    let v = comparison();
    while (peek()?.v === '&&') {
      eat();
      const r = comparison();
      v = truthy(v) && truthy(r);
    }
    return v;
  }

  function or(): Value {
    let v = and();
    while (peek()?.v === '||') {
      eat();
      const r = and();
      v = truthy(v) || truthy(r);
    }
    return v;
  }

  const result = or();
  if (pos !== tokens.length) throw new Error(`unexpected trailing input in ${src}`);
  return result;
}

function truthy(v: Value): boolean {
  return v === true || (typeof v === 'string' && v.length > 0);
}
