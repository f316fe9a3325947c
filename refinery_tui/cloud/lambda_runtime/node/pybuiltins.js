// The builtins and methods `if` expressions may call, with CPython's results, argument checks and messages.
'use strict';

const V = require('./pyvalues');
const N = require('./pynumbers');

const {
  PYTHON, PyError, ExpressionRuntimeError, Tuple, Dict, Builtin, typeName, isInt, big, truthy, eq, order,
  sameObject, iterate, repr, str, strLen, codePoints, hasSurrogates, hashKey,
} = V;

const typeError = (message) => new PyError('TypeError', message);

// Messages of CPython's argument parsers, which changed between versions.
function invalidKeyword(name, keyword) {
  return typeError(PYTHON.minor >= 13 ? `${name}() got an unexpected keyword argument '${keyword}'`
    : `'${keyword}' is an invalid keyword argument for ${name}()`);
}

function noKeywords(label, kwargs) {
  if (kwargs.length) throw typeError(`${label}() takes no keyword arguments`);
}

function exactlyOne(label, args, kwargs) {
  noKeywords(label, kwargs);
  if (args.length !== 1) throw typeError(`${label}() takes exactly one argument (${args.length} given)`);
}

function atMost(label, args, count) {
  if (args.length > count) {
    throw typeError(`${label} expected at most ${count} argument${count === 1 ? '' : 's'}, got ${args.length}`);
  }
}

// A Python function's argument binding (for round and int, which are Python functions in the evaluator).
function bindPython(name, params, required, args, kwargs) {
  if (kwargs.length) throw typeError(`${name}() got an unexpected keyword argument '${kwargs[0][0]}'`);
  if (args.length > params.length) {
    throw typeError(`${name}() takes from ${required} to ${params.length} positional arguments but `
      + `${args.length} were given`);
  }
  if (args.length < required) {
    throw typeError(`${name}() missing 1 required positional argument: '${params[0]}'`);
  }
}

// A slice index or find()/count() bound: None, or an int clamped to the ssize_t range.
function sliceIndex(value, allowNone = true) {
  if (value === null && allowNone) return null;
  if (!isInt(value)) {
    throw typeError(allowNone ? 'slice indices must be integers or None or have an __index__ method'
      : 'slice indices must be integers or have an __index__ method');
  }
  const n = big(value);
  if (n > N.SSIZE_MAX) return Number.MAX_SAFE_INTEGER;
  if (n < -N.SSIZE_MAX) return -Number.MAX_SAFE_INTEGER;
  return Number(n);
}

function adjustIndices(start, end, length) {
  let s = start;
  let e = end;
  if (e > length) e = length;
  else if (e < 0) {
    e += length;
    if (e < 0) e = 0;
  }
  if (s < 0) {
    s += length;
    if (s < 0) s = 0;
  }
  return [s, e];
}

// ---- sorting: CPython's list.sort (3.11 / 3.12 timsort with powersort merging), comparison for comparison,
// so that inconsistent orders (NaN) and errors between mixed types come out the same.

const MIN_GALLOP = 7;

function countRun(a, lo, hi, lt) {
  if (lo + 1 === hi) return [1, false];
  let n = 2;
  if (lt(a[lo + 1], a[lo])) {
    for (let i = lo + 2; i < hi && lt(a[i], a[i - 1]); i += 1) n += 1;
    return [n, true];
  }
  for (let i = lo + 2; i < hi && !lt(a[i], a[i - 1]); i += 1) n += 1;
  return [n, false];
}

function binarySort(a, lo, hi, startAt, lt) {
  let start = startAt === lo ? startAt + 1 : startAt;
  for (; start < hi; start += 1) {
    const pivot = a[start];
    let l = lo;
    let r = start;
    do {
      const p = l + ((r - l) >> 1);
      if (lt(pivot, a[p])) r = p;
      else l = p + 1;
    } while (l < r);
    for (let p = start; p > l; p -= 1) a[p] = a[p - 1];
    a[l] = pivot;
  }
}

// Where key goes in the sorted a[base .. base+n): k with a[k-1] < key <= a[k] (left) or a[k-1] <= key < a[k].
function gallopLeft(key, a, base, n, hint, lt) {
  let lastofs = 0;
  let ofs = 1;
  if (lt(a[base + hint], key)) {
    const maxofs = n - hint;
    while (ofs < maxofs) {
      if (lt(a[base + hint + ofs], key)) {
        lastofs = ofs;
        ofs = (ofs << 1) + 1;
      } else break;
    }
    if (ofs > maxofs) ofs = maxofs;
    lastofs += hint;
    ofs += hint;
  } else {
    const maxofs = hint + 1;
    while (ofs < maxofs) {
      if (lt(a[base + hint - ofs], key)) break;
      lastofs = ofs;
      ofs = (ofs << 1) + 1;
    }
    if (ofs > maxofs) ofs = maxofs;
    const k = lastofs;
    lastofs = hint - ofs;
    ofs = hint - k;
  }
  lastofs += 1;
  while (lastofs < ofs) {
    const m = lastofs + ((ofs - lastofs) >> 1);
    if (lt(a[base + m], key)) lastofs = m + 1;
    else ofs = m;
  }
  return ofs;
}

function gallopRight(key, a, base, n, hint, lt) {
  let lastofs = 0;
  let ofs = 1;
  if (lt(key, a[base + hint])) {
    const maxofs = hint + 1;
    while (ofs < maxofs) {
      if (lt(key, a[base + hint - ofs])) {
        lastofs = ofs;
        ofs = (ofs << 1) + 1;
      } else break;
    }
    if (ofs > maxofs) ofs = maxofs;
    const k = lastofs;
    lastofs = hint - ofs;
    ofs = hint - k;
  } else {
    const maxofs = n - hint;
    while (ofs < maxofs) {
      if (lt(key, a[base + hint + ofs])) break;
      lastofs = ofs;
      ofs = (ofs << 1) + 1;
    }
    if (ofs > maxofs) ofs = maxofs;
    lastofs += hint;
    ofs += hint;
  }
  lastofs += 1;
  while (lastofs < ofs) {
    const m = lastofs + ((ofs - lastofs) >> 1);
    if (lt(key, a[base + m])) ofs = m;
    else lastofs = m + 1;
  }
  return ofs;
}

class MergeState {
  constructor(a, lt) {
    this.a = a;
    this.lt = lt;
    this.minGallop = MIN_GALLOP;
    this.pending = []; // {base, len, power}
  }

  // Merge a[pa .. pa+na) and a[pb .. pb+nb) (adjacent, na <= nb) from the left.
  mergeLo(pa, na, pb, nb) {
    const { a, lt } = this;
    const tmp = a.slice(pa, pa + na);
    let ia = 0;
    let ib = pb;
    let dest = pa;
    let minGallop = this.minGallop;
    a[dest++] = a[ib++];
    nb -= 1;
    const finish = () => {
      for (let k = 0; k < na; k += 1) a[dest + k] = tmp[ia + k];
    };
    const copyB = () => {
      for (let k = 0; k < nb; k += 1) a[dest + k] = a[ib + k];
      a[dest + nb] = tmp[ia];
    };
    try {
      if (nb === 0) { finish(); return; }
      if (na === 1) { copyB(); return; }
      for (;;) {
        let acount = 0;
        let bcount = 0;
        for (;;) {
          if (lt(a[ib], tmp[ia])) {
            a[dest++] = a[ib++];
            bcount += 1;
            acount = 0;
            nb -= 1;
            if (nb === 0) { finish(); return; }
            if (bcount >= minGallop) break;
          } else {
            a[dest++] = tmp[ia++];
            acount += 1;
            bcount = 0;
            na -= 1;
            if (na === 1) { copyB(); return; }
            if (acount >= minGallop) break;
          }
        }
        minGallop += 1;
        do {
          minGallop -= minGallop > 1 ? 1 : 0;
          this.minGallop = minGallop;
          let k = gallopRight(a[ib], tmp, ia, na, 0, lt);
          acount = k;
          if (k) {
            for (let j = 0; j < k; j += 1) a[dest + j] = tmp[ia + j];
            dest += k;
            ia += k;
            na -= k;
            if (na === 1) { copyB(); return; }
            if (na === 0) { finish(); return; }
          }
          a[dest++] = a[ib++];
          nb -= 1;
          if (nb === 0) { finish(); return; }
          k = gallopLeft(tmp[ia], a, ib, nb, 0, lt);
          bcount = k;
          if (k) {
            for (let j = 0; j < k; j += 1) a[dest + j] = a[ib + j];
            dest += k;
            ib += k;
            nb -= k;
            if (nb === 0) { finish(); return; }
          }
          a[dest++] = tmp[ia++];
          na -= 1;
          if (na === 1) { copyB(); return; }
        } while (acount >= MIN_GALLOP || bcount >= MIN_GALLOP);
        minGallop += 1;
        this.minGallop = minGallop;
      }
    } catch (error) {
      finish();
      throw error;
    }
  }

  // Merge a[pa .. pa+na) and a[pb .. pb+nb) (adjacent, na > nb) from the right.
  mergeHi(pa, na, pb, nb) {
    const { a, lt } = this;
    const tmp = a.slice(pb, pb + nb);
    let ia = pa + na - 1;
    let ib = nb - 1;
    let dest = pb + nb - 1;
    let minGallop = this.minGallop;
    a[dest--] = a[ia--];
    na -= 1;
    const finish = () => {
      for (let k = 0; k < nb; k += 1) a[dest - (nb - 1) + k] = tmp[k];
    };
    const copyA = () => {
      dest -= na;
      ia -= na;
      for (let k = na; k >= 1; k -= 1) a[dest + k] = a[ia + k];
      a[dest] = tmp[ib];
    };
    try {
      if (na === 0) { finish(); return; }
      if (nb === 1) { copyA(); return; }
      for (;;) {
        let acount = 0;
        let bcount = 0;
        for (;;) {
          if (lt(tmp[ib], a[ia])) {
            a[dest--] = a[ia--];
            acount += 1;
            bcount = 0;
            na -= 1;
            if (na === 0) { finish(); return; }
            if (acount >= minGallop) break;
          } else {
            a[dest--] = tmp[ib--];
            bcount += 1;
            acount = 0;
            nb -= 1;
            if (nb === 1) { copyA(); return; }
            if (bcount >= minGallop) break;
          }
        }
        minGallop += 1;
        do {
          minGallop -= minGallop > 1 ? 1 : 0;
          this.minGallop = minGallop;
          let k = gallopRight(tmp[ib], a, pa, na, na - 1, lt);
          k = na - k;
          acount = k;
          if (k) {
            dest -= k;
            ia -= k;
            for (let j = k; j >= 1; j -= 1) a[dest + j] = a[ia + j];
            na -= k;
            if (na === 0) { finish(); return; }
          }
          a[dest--] = tmp[ib--];
          nb -= 1;
          if (nb === 1) { copyA(); return; }
          k = gallopLeft(a[ia], tmp, 0, nb, nb - 1, lt);
          k = nb - k;
          bcount = k;
          if (k) {
            dest -= k;
            ib -= k;
            for (let j = 1; j <= k; j += 1) a[dest + j] = tmp[ib + j];
            nb -= k;
            if (nb === 1) { copyA(); return; }
            if (nb === 0) { finish(); return; }
          }
          a[dest--] = a[ia--];
          na -= 1;
          if (na === 0) { finish(); return; }
        } while (acount >= MIN_GALLOP || bcount >= MIN_GALLOP);
        minGallop += 1;
        this.minGallop = minGallop;
      }
    } catch (error) {
      finish();
      throw error;
    }
  }

  mergeAt(i) {
    const { a, lt, pending } = this;
    let { base: pa, len: na } = pending[i];
    const { base: pb } = pending[i + 1];
    let nb = pending[i + 1].len;
    pending[i].len = na + nb;
    pending.splice(i + 1, 1);
    const k = gallopRight(a[pb], a, pa, na, 0, lt);
    pa += k;
    na -= k;
    if (na === 0) return;
    nb = gallopLeft(a[pa + na - 1], a, pb, nb, nb - 1, lt);
    if (nb <= 0) return;
    if (na <= nb) this.mergeLo(pa, na, pb, nb);
    else this.mergeHi(pa, na, pb, nb);
  }

  foundNewRun(n2, length) {
    const { pending } = this;
    if (!pending.length) return;
    const top = pending[pending.length - 1];
    const power = powerLoop(top.base, top.len, n2, length);
    while (pending.length > 1 && pending[pending.length - 2].power > power) this.mergeAt(pending.length - 2);
    pending[pending.length - 1].power = power;
  }

  forceCollapse() {
    const { pending } = this;
    while (pending.length > 1) {
      let n = pending.length - 2;
      if (n > 0 && pending[n - 1].len < pending[n + 1].len) n -= 1;
      this.mergeAt(n);
    }
  }
}

// The depth in the powersort merge tree of the boundary between runs [s1, s1+n1) and [s1+n1, s1+n1+n2).
function powerLoop(s1, n1, n2, n) {
  let result = 0;
  let a = 2 * s1 + n1;
  let b = a + n1 + n2;
  for (;;) {
    result += 1;
    if (a >= n) {
      a -= n;
      b -= n;
    } else if (b >= n) break;
    a *= 2;
    b *= 2;
  }
  return result;
}

function computeMinrun(length) {
  let n = length;
  let r = 0;
  while (n >= 64) {
    r |= n & 1;
    n >>= 1;
  }
  return n + r;
}

function timsort(a, lt) {
  const length = a.length;
  if (length < 2) return;
  const state = new MergeState(a, lt);
  const minrun = computeMinrun(length);
  let lo = 0;
  let remaining = length;
  do {
    let [n, descending] = countRun(a, lo, lo + remaining, lt);
    if (descending) {
      const run = a.slice(lo, lo + n).reverse();
      for (let i = 0; i < n; i += 1) a[lo + i] = run[i];
    }
    if (n < minrun) {
      const force = remaining <= minrun ? remaining : minrun;
      binarySort(a, lo, lo + force, lo + n, lt);
      n = force;
    }
    state.foundNewRun(n, length);
    state.pending.push({ base: lo, len: n, power: 0 });
    lo += n;
    remaining -= n;
  } while (remaining);
  state.forceCollapse();
}

function sortValues(values, reverse) {
  const a = values.slice();
  if (reverse) a.reverse();
  timsort(a, (x, y) => order('<', x, y));
  if (reverse) a.reverse();
  return a;
}

// ---- builtins

function minMax(name, op, args, kwargs) {
  if (args.length === 0) throw typeError(`${name} expected at least 1 argument, got 0`);
  let fallback;
  let hasDefault = false;
  for (const [key, value] of kwargs) {
    if (key !== 'default') throw invalidKeyword(name, key);
    fallback = value;
    hasDefault = true;
  }
  const positional = args.length > 1;
  if (positional && hasDefault) {
    throw typeError(`Cannot specify a default for ${name}() with multiple positional arguments`);
  }
  const items = positional ? args : iterate(args[0]);
  let best;
  let found = false;
  for (const item of items) {
    if (!found) {
      best = item;
      found = true;
    } else if (order(op, item, best)) best = item;
  }
  if (found) return best;
  if (hasDefault) return fallback;
  throw new PyError('ValueError', PYTHON.minor >= 12 ? `${name}() iterable argument is empty`
    : `${name}() arg is an empty sequence`);
}

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);
const fitsLong = (n) => n >= LONG_MIN && n <= LONG_MAX;

// sum() as CPython runs it: an exact int fast path, then a float path (compensated from 3.12 on), then `+`.
function sum(args, kwargs) {
  if (args.length + kwargs.length > 2) throw typeError(`sum() takes at most 2 arguments (${args.length + kwargs.length} given)`);
  if (args.length < 1) throw typeError(`sum() takes at least 1 positional argument (${args.length} given)`);
  let result = 0n;
  if (args.length > 1) result = args[1];
  for (const [key, value] of kwargs) {
    if (key !== 'start') throw invalidKeyword('sum', key);
    result = value;
  }
  const items = iterate(args[0]);
  let i = 0;
  if (typeof result === 'bigint' && fitsLong(result)) {
    let total = result;
    result = undefined;
    while (result === undefined) {
      if (i >= items.length) return total;
      const item = items[i++];
      if (isInt(item)) {
        const b = big(item);
        if (fitsLong(b) && fitsLong(total + b)) {
          total += b;
          continue;
        }
      }
      result = N.binary('+', total, item);
    }
  }
  if (typeof result === 'number') {
    let f = result;
    let c = 0.0;
    const compensated = PYTHON.minor >= 12;
    result = undefined;
    while (result === undefined) {
      if (i >= items.length) {
        if (compensated && c !== 0 && Number.isFinite(c)) f += c;
        return f;
      }
      const item = items[i++];
      if (typeof item === 'number') {
        if (compensated) {
          const t = f + item;
          if (Math.abs(f) >= Math.abs(item)) c += (f - t) + item;
          else c += (item - t) + f;
          f = t;
        } else f += item;
        continue;
      }
      if (isInt(item) && fitsLong(big(item))) {
        f += Number(big(item));
        continue;
      }
      if (compensated && c !== 0 && Number.isFinite(c)) f += c;
      result = N.binary('+', f, item);
    }
  }
  for (; i < items.length; i += 1) result = N.binary('+', result, items[i]);
  return result;
}

function round(args, kwargs) {
  bindPython('_round', ['number', 'ndigits'], 1, args, kwargs);
  const [number, ndigits = null] = args;
  if (ndigits !== null && (!isInt(ndigits) || N.abs(ndigits) > 300n)) {
    throw new ExpressionRuntimeError('round() digits must be an integer between -300 and 300');
  }
  return N.round(number, ndigits);
}

function toInt(args, kwargs) {
  bindPython('_int', ['value', 'base'], 0, args, kwargs);
  const [value = 0n, base = null] = args;
  if (typeof value === 'string' && strLen(value) > 1000) {
    throw new ExpressionRuntimeError('int() of a string longer than 1000 characters');
  }
  return N.toInt(value, base);
}

function toStr(args, kwargs) {
  const total = args.length + kwargs.length;
  if (total > 3) {
    throw typeError(PYTHON.minor >= 13 ? `str expected at most 3 arguments, got ${total}`
      : `str() takes at most 3 arguments (${total} given)`);
  }
  if (kwargs.length) throw invalidKeyword('str', kwargs[0][0]);
  if (args.length === 0) return '';
  if (args.length === 1) return str(args[0]);
  for (const [index, label] of [[1, 'encoding'], [2, 'errors']]) {
    if (args.length > index && typeof args[index] !== 'string') {
      throw typeError(`str() argument '${label}' must be str, not ${typeName(args[index])}`);
    }
  }
  if (typeof args[0] === 'string') throw typeError('decoding str is not supported');
  throw typeError(`decoding to str: need a bytes-like object, ${typeName(args[0])} found`);
}

function toFloat(args, kwargs) {
  noKeywords('float', kwargs);
  atMost('float', args, 1);
  return args.length ? N.toFloatValue(args[0]) : 0.0;
}

function toBool(args, kwargs) {
  noKeywords('bool', kwargs);
  atMost('bool', args, 1);
  return args.length ? truthy(args[0]) : false;
}

function sorted(args, kwargs) {
  if (args.length !== 1) throw typeError(`sorted expected 1 argument, got ${args.length}`);
  const items = iterate(args[0]);
  let reverse = false;
  for (const [key, value] of kwargs) {
    if (key !== 'reverse') throw invalidKeyword('sort', key);
    if (!isInt(value)) throw typeError(`'${typeName(value)}' object cannot be interpreted as an integer`);
    const n = big(value);
    if (n > 2147483647n || n < -2147483648n) {
      throw new PyError('OverflowError', 'Python int too large to convert to C int');
    }
    reverse = n !== 0n;
  }
  return sortValues(items, reverse);
}

function size(value) {
  if (typeof value === 'string') return strLen(value);
  if (Array.isArray(value)) return value.length;
  if (value instanceof Tuple) return value.items.length;
  if (value instanceof Dict || value instanceof V.PySet) return value.size;
  throw typeError(`object of type '${typeName(value)}' has no len()`);
}

const BUILTIN_FUNCTIONS = {
  len: (args, kwargs) => {
    exactlyOne('len', args, kwargs);
    return BigInt(size(args[0]));
  },
  min: (args, kwargs) => minMax('min', '<', args, kwargs),
  max: (args, kwargs) => minMax('max', '>', args, kwargs),
  any: (args, kwargs) => {
    exactlyOne('any', args, kwargs);
    return iterate(args[0]).some(truthy);
  },
  all: (args, kwargs) => {
    exactlyOne('all', args, kwargs);
    return iterate(args[0]).every(truthy);
  },
  sum,
  abs: (args, kwargs) => {
    exactlyOne('abs', args, kwargs);
    return N.abs(args[0]);
  },
  round,
  str: toStr,
  int: toInt,
  float: toFloat,
  bool: toBool,
  sorted,
};

const BUILTINS = {};
for (const [name, fn] of Object.entries(BUILTIN_FUNCTIONS)) BUILTINS[name] = new Builtin(name, fn);

// ---- str methods

const PY_WHITESPACE = /[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

const DIGITS = [[178, 179], [185, 185], [4969, 4977], [6618, 6618], [8304, 8304], [8308, 8313], [8320, 8329],
  [9312, 9320], [9332, 9340], [9352, 9360], [9450, 9450], [9461, 9469], [9471, 9471], [10102, 10110],
  [10112, 10120], [10122, 10130], [68160, 68163], [69216, 69224], [69714, 69722], [127232, 127242]];

// Title case where it differs from upper case (Python 3.12's Unicode data): chars that are their own title
// case, then CHAR:TITLE pairs (hex code points, '.' between several).
const TITLE_SELF = [[0x1c5, 0x1c5], [0x1c8, 0x1c8], [0x1cb, 0x1cb], [0x1f2, 0x1f2], [0x10d0, 0x10fa],
  [0x10fd, 0x10ff], [0x1f88, 0x1f8f], [0x1f98, 0x1f9f], [0x1fa8, 0x1faf], [0x1fbc, 0x1fbc], [0x1fcc, 0x1fcc],
  [0x1ffc, 0x1ffc]];
const TITLE = new Map(('df:53.73 1c4:1c5 1c6:1c5 1c7:1c8 1c9:1c8 1ca:1cb 1cc:1cb 1f1:1f2 1f3:1f2 587:535.582 '
  + '1f80:1f88 1f81:1f89 1f82:1f8a 1f83:1f8b 1f84:1f8c 1f85:1f8d 1f86:1f8e 1f87:1f8f 1f90:1f98 1f91:1f99 '
  + '1f92:1f9a 1f93:1f9b 1f94:1f9c 1f95:1f9d 1f96:1f9e 1f97:1f9f 1fa0:1fa8 1fa1:1fa9 1fa2:1faa 1fa3:1fab '
  + '1fa4:1fac 1fa5:1fad 1fa6:1fae 1fa7:1faf 1fb2:1fba.345 1fb3:1fbc 1fb4:386.345 1fb7:391.342.345 '
  + '1fc2:1fca.345 1fc3:1fcc 1fc4:389.345 1fc7:397.342.345 1ff2:1ffa.345 1ff3:1ffc 1ff4:38f.345 '
  + '1ff7:3a9.342.345 fb00:46.66 fb01:46.69 fb02:46.6c fb03:46.66.69 fb04:46.66.6c fb05:53.74 fb06:53.74 '
  + 'fb13:544.576 fb14:544.565 fb15:544.56b fb16:54e.576 fb17:544.56d').split(' ').map((pair) => {
  const [from, to] = pair.split(':');
  return [parseInt(from, 16), String.fromCodePoint(...to.split('.').map((h) => parseInt(h, 16)))];
}));

const inRanges = (ranges, cp) => ranges.some(([a, b]) => a <= cp && cp <= b);
const isCased = (ch) => /^\p{Cased}$/u.test(ch);
const isCaseIgnorable = (ch) => /^\p{Case_Ignorable}$/u.test(ch);

function titleChar(ch) {
  const cp = ch.codePointAt(0);
  if (TITLE.has(cp)) return TITLE.get(cp);
  if (inRanges(TITLE_SELF, cp)) return ch;
  return ch.toUpperCase();
}

// Lower case of chars[i], with Python's final-sigma rule for U+03A3.
function lowerAt(chars, i) {
  if (chars[i] !== '\u03a3') return chars[i].toLowerCase();
  let j = i - 1;
  while (j >= 0 && isCaseIgnorable(chars[j])) j -= 1;
  let finalSigma = j >= 0 && isCased(chars[j]);
  if (finalSigma && i + 1 < chars.length) {
    j = i + 1;
    while (j < chars.length && isCaseIgnorable(chars[j])) j += 1;
    finalSigma = j === chars.length || !isCased(chars[j]);
  }
  return finalSigma ? '\u03c2' : '\u03c3';
}

function title(text) {
  const chars = codePoints(text);
  let previousCased = false;
  let out = '';
  for (let i = 0; i < chars.length; i += 1) {
    out += previousCased ? lowerAt(chars, i) : titleChar(chars[i]);
    previousCased = isCased(chars[i]);
  }
  return out;
}

function capitalize(text) {
  const chars = codePoints(text);
  let out = chars.length ? titleChar(chars[0]) : '';
  for (let i = 1; i < chars.length; i += 1) out += lowerAt(chars, i);
  return out;
}

function strip(text, chars, left, right) {
  const items = codePoints(text);
  const strips = chars === null ? (ch) => PY_WHITESPACE.test(ch) : (() => {
    const set = new Set(codePoints(chars));
    return (ch) => set.has(ch);
  })();
  let start = 0;
  let end = items.length;
  if (left) while (start < end && strips(items[start])) start += 1;
  if (right) while (end > start && strips(items[end - 1])) end -= 1;
  return items.slice(start, end).join('');
}

function split(text, sep, maxsplit) {
  const limit = maxsplit < 0 ? Infinity : maxsplit;
  const out = [];
  if (sep === null) {
    const chars = codePoints(text);
    const space = (ch) => PY_WHITESPACE.test(ch);
    let i = 0;
    let count = limit;
    while (count-- > 0) {
      while (i < chars.length && space(chars[i])) i += 1;
      if (i === chars.length) break;
      const j = i;
      i += 1;
      while (i < chars.length && !space(chars[i])) i += 1;
      out.push(chars.slice(j, i).join(''));
    }
    if (i < chars.length) {
      while (i < chars.length && space(chars[i])) i += 1;
      if (i !== chars.length) out.push(chars.slice(i).join(''));
    }
    return out;
  }
  if (sep === '') throw new PyError('ValueError', 'empty separator');
  let start = 0;
  let count = limit;
  while (count-- > 0) {
    const at = text.indexOf(sep, start);
    if (at < 0) break;
    out.push(text.slice(start, at));
    start = at + sep.length;
  }
  out.push(text.slice(start));
  return out;
}

// Find / count over code points (the strings are turned into code point arrays only when they need it).
function units(text) {
  return hasSurrogates(text) ? Array.from(text) : text;
}

function indexIn(hay, needle, from, to) {
  if (typeof hay === 'string' && typeof needle === 'string') {
    const at = hay.indexOf(needle, from);
    return at >= 0 && at + needle.length <= to ? at : -1;
  }
  const n = Array.from(needle);
  for (let i = from; i + n.length <= to; i += 1) {
    let match = true;
    for (let k = 0; k < n.length; k += 1) {
      if (hay[i + k] !== n[k]) {
        match = false;
        break;
      }
    }
    if (match) return i;
  }
  return -1;
}

function findArgs(name, args, kwargs) {
  const label = PYTHON.minor >= 13 ? `str.${name}` : name;
  noKeywords(label, kwargs);
  if (args.length < 1) {
    throw typeError(PYTHON.minor >= 13 ? `${name} expected at least 1 argument, got 0`
      : `${name}() takes at least 1 argument (0 given)`);
  }
  if (args.length > 3) {
    throw typeError(PYTHON.minor >= 13 ? `${name} expected at most 3 arguments, got ${args.length}`
      : `${name}() takes at most 3 arguments (${args.length} given)`);
  }
  const start = args.length > 1 ? sliceIndex(args[1]) : null;
  const end = args.length > 2 ? sliceIndex(args[2]) : null;
  return [args[0], start === null ? 0 : start, end === null ? Number.MAX_SAFE_INTEGER : end];
}

function findOrCount(name, text, args, kwargs) {
  const [sub, start, end] = findArgs(name, args, kwargs);
  if (typeof sub !== 'string') {
    throw typeError(PYTHON.minor >= 13 ? `${name}() argument 1 must be str, not ${typeName(sub)}`
      : `must be str, not ${typeName(sub)}`);
  }
  const hay = units(text);
  const subLength = strLen(sub);
  const [s, e] = adjustIndices(start, end, hay.length);
  if (e - s < subLength) return name === 'find' ? -1n : 0n;
  if (name === 'find') return BigInt(indexIn(hay, units(sub), s, e));
  if (subLength === 0) return BigInt(e - s + 1);
  let count = 0;
  let at = s;
  for (;;) {
    const found = indexIn(hay, units(sub), at, e);
    if (found < 0) break;
    count += 1;
    at = found + subLength;
  }
  return BigInt(count);
}

function tailMatch(name, text, args, kwargs) {
  const [prefix, start, end] = findArgs(name, args, kwargs);
  const hay = units(text);
  const matches = (sub) => {
    const subUnits = units(sub);
    const subLength = strLen(sub);
    let [s, e] = adjustIndices(start, end, hay.length);
    e -= subLength;
    if (e < s) return false;
    if (subLength === 0) return true;
    const at = name === 'startswith' ? s : e;
    for (let k = 0; k < subLength; k += 1) if (hay[at + k] !== subUnits[k]) return false;
    return true;
  };
  if (prefix instanceof Tuple) {
    for (const item of prefix.items) {
      if (typeof item !== 'string') {
        throw typeError(`tuple for ${name} must only contain str, not ${typeName(item)}`);
      }
      if (matches(item)) return true;
    }
    return false;
  }
  if (typeof prefix !== 'string') {
    throw typeError(`${name} first arg must be str or a tuple of str, not ${typeName(prefix)}`);
  }
  return matches(prefix);
}

function noArgs(label, args, kwargs) {
  noKeywords(label, kwargs);
  if (args.length) throw typeError(`${label}() takes no arguments (${args.length} given)`);
}

const every = (text, test) => text.length > 0 && codePoints(text).every(test);

function isLowerOrUpper(text, lower) {
  let cased = false;
  for (const ch of codePoints(text)) {
    const isUpper = /^\p{Uppercase}$/u.test(ch);
    const isLower = /^\p{Lowercase}$/u.test(ch);
    const isTitle = /^\p{Lt}$/u.test(ch);
    if ((lower ? isUpper : isLower) || isTitle) return false;
    if (!cased && (lower ? isLower : isUpper)) cased = true;
  }
  return cased;
}

function stripMethod(name, left, right) {
  return (text, args, kwargs) => {
    noKeywords(`str.${name}`, kwargs);
    atMost(name, args, 1);
    const chars = args.length ? args[0] : null;
    if (chars !== null && typeof chars !== 'string') throw typeError(`${name} arg must be None or str`);
    return strip(text, chars, left, right);
  };
}

function noArgMethod(name, fn) {
  return (text, args, kwargs) => {
    noArgs(`str.${name}`, args, kwargs);
    return fn(text);
  };
}

const STR_METHODS = {
  lower: noArgMethod('lower', (t) => t.toLowerCase()),
  upper: noArgMethod('upper', (t) => t.toUpperCase()),
  strip: stripMethod('strip', true, true),
  lstrip: stripMethod('lstrip', true, false),
  rstrip: stripMethod('rstrip', false, true),
  startswith: (t, args, kwargs) => tailMatch('startswith', t, args, kwargs),
  endswith: (t, args, kwargs) => tailMatch('endswith', t, args, kwargs),
  split: (t, args, kwargs) => {
    const total = args.length + kwargs.length;
    if (total > 2) throw typeError(`split() takes at most 2 arguments (${total} given)`);
    if (kwargs.length) throw invalidKeyword('split', kwargs[0][0]);
    let maxsplit = -1;
    if (args.length > 1) {
      if (!isInt(args[1])) throw typeError(`'${typeName(args[1])}' object cannot be interpreted as an integer`);
      const n = big(args[1]);
      if (n > N.SSIZE_MAX || n < -N.SSIZE_MAX - 1n) {
        throw new PyError('OverflowError', 'Python int too large to convert to C ssize_t');
      }
      maxsplit = Number(n);
    }
    const sep = args.length ? args[0] : null;
    if (sep !== null && typeof sep !== 'string') throw typeError(`must be str or None, not ${typeName(sep)}`);
    return split(t, sep, maxsplit);
  },
  count: (t, args, kwargs) => findOrCount('count', t, args, kwargs),
  find: (t, args, kwargs) => findOrCount('find', t, args, kwargs),
  isdigit: noArgMethod('isdigit', (t) => every(t, (ch) => /^\p{Nd}$/u.test(ch)
    || inRanges(DIGITS, ch.codePointAt(0)))),
  isalpha: noArgMethod('isalpha', (t) => every(t, (ch) => /^\p{L}$/u.test(ch))),
  isalnum: noArgMethod('isalnum', (t) => every(t, (ch) => /^[\p{L}\p{N}]$/u.test(ch)
    || inRanges(DIGITS, ch.codePointAt(0)))),
  islower: noArgMethod('islower', (t) => isLowerOrUpper(t, true)),
  isupper: noArgMethod('isupper', (t) => isLowerOrUpper(t, false)),
  title: noArgMethod('title', title),
  capitalize: noArgMethod('capitalize', capitalize),
};

// ---- list / tuple / dict methods

function sequenceIndex(kind, items, args, kwargs) {
  noKeywords(`${kind}.index`, kwargs);
  if (args.length < 1) throw typeError('index expected at least 1 argument, got 0');
  if (args.length > 3) throw typeError(`index expected at most 3 arguments, got ${args.length}`);
  let start = args.length > 1 ? sliceIndex(args[1], false) : 0;
  let stop = args.length > 2 ? sliceIndex(args[2], false) : Number.MAX_SAFE_INTEGER;
  if (start < 0) {
    start += items.length;
    if (start < 0) start = 0;
  }
  if (stop < 0) {
    stop += items.length;
    if (stop < 0) stop = 0;
  }
  for (let i = start; i < stop && i < items.length; i += 1) {
    if (sameObject(items[i], args[0]) || eq(items[i], args[0])) return BigInt(i);
  }
  throw new PyError('ValueError', kind === 'list' ? `${repr(args[0])} is not in list`
    : 'tuple.index(x): x not in tuple');
}

function sequenceCount(kind, items, args, kwargs) {
  noKeywords(`${kind}.count`, kwargs);
  if (args.length !== 1) throw typeError(`${kind}.count() takes exactly one argument (${args.length} given)`);
  return BigInt(items.filter((item) => sameObject(item, args[0]) || eq(item, args[0])).length);
}

function dictView(name, fn) {
  return (d, args, kwargs) => {
    noArgs(`dict.${name}`, args, kwargs);
    return fn(d);
  };
}

const METHODS = {
  dict: {
    get: (d, args, kwargs) => {
      noKeywords('dict.get', kwargs);
      if (args.length < 1) throw typeError('get expected at least 1 argument, got 0');
      if (args.length > 2) throw typeError(`get expected at most 2 arguments, got ${args.length}`);
      const entry = d.entry(args[0]);
      return entry ? entry[1] : (args.length > 1 ? args[1] : null);
    },
    keys: dictView('keys', (d) => d.keys()),
    values: dictView('values', (d) => d.values()),
    items: dictView('items', (d) => d.entries().map(([k, v]) => new Tuple([k, v]))),
  },
  str: STR_METHODS,
  list: {
    index: (l, args, kwargs) => sequenceIndex('list', l, args, kwargs),
    count: (l, args, kwargs) => sequenceCount('list', l, args, kwargs),
  },
  tuple: {
    index: (t, args, kwargs) => sequenceIndex('tuple', t.items, args, kwargs),
    count: (t, args, kwargs) => sequenceCount('tuple', t.items, args, kwargs),
  },
};

const METHOD_NAMES = new Set(Object.values(METHODS).flatMap((table) => Object.keys(table)));

module.exports = { BUILTINS, METHODS, METHOD_NAMES, sliceIndex, hashKey };
