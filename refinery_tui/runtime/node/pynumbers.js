// Python arithmetic in JS: int (BigInt) and float (number) operators, rounding, int() and float() parsing.
'use strict';

const {
  PYTHON, PyError, Tuple, Dict, PySet, typeName, isInt, isNumber, big, bitLength, repr, codePoints,
} = require('./pyvalues');
const { pow: accuratePow } = require('./pypow');

const SSIZE_MAX = (1n << 63n) - 1n;

function toFloat(value) {
  if (typeof value === 'number') return value;
  const result = Number(big(value));
  if (!Number.isFinite(result)) throw new PyError('OverflowError', 'int too large to convert to float');
  return result;
}

const zeroDivision = () => new PyError('ZeroDivisionError', 'division by zero');

function unsupported(op, a, b) {
  const name = op === '**' ? '** or pow()' : op;
  return new PyError('TypeError', `unsupported operand type(s) for ${name}: '${typeName(a)}' and '${typeName(b)}'`);
}

// x * 2**exp without intermediate overflow or underflow (the result is exact when representable).
function scale(x, exp) {
  let result = x;
  let rest = exp;
  while (rest > 1000) { result *= 2 ** 1000; rest -= 1000; }
  while (rest < -1000) { result *= 2 ** -1000; rest += 1000; }
  return result * 2 ** rest;
}

// n / d (BigInts, d != 0) correctly rounded to a float, as Python's int / int.
function trueDivide(n, d) {
  if (d === 0n) throw zeroDivision();
  const limit = 1n << 53n;
  const an = n < 0n ? -n : n;
  const ad = d < 0n ? -d : d;
  if (an <= limit && ad <= limit) return Number(n) / Number(d);
  const negative = (n < 0n) !== (d < 0n);
  if (an === 0n) return negative ? -0 : 0;
  const shift = bitLength(an) - bitLength(ad) - 66;
  let q;
  let r;
  if (shift >= 0) {
    const dd = ad << BigInt(shift);
    q = an / dd;
    r = an % dd;
  } else {
    const nn = an << BigInt(-shift);
    q = nn / ad;
    r = nn % ad;
  }
  const e = bitLength(q) - 1 + shift; // 2**e <= |n / d| < 2**(e+1)
  if (e >= 1024) throw new PyError('OverflowError', 'integer division result too large for a float');
  const keep = e < -1022 ? 53 - (-1022 - e) : 53;
  const drop = bitLength(q) - keep;
  let m = q >> BigInt(drop);
  const rest = q - (m << BigInt(drop));
  const half = 1n << BigInt(drop - 1);
  if (rest > half || (rest === half && (r !== 0n || (m & 1n) === 1n))) m += 1n;
  const result = scale(Number(m), shift + drop);
  if (!Number.isFinite(result)) throw new PyError('OverflowError', 'integer division result too large for a float');
  return negative ? -result : result;
}

function intFloorDiv(a, b) {
  if (b === 0n) throw zeroDivision();
  let q = a / b;
  if (a % b !== 0n && ((a < 0n) !== (b < 0n))) q -= 1n;
  return q;
}

function intMod(a, b) {
  if (b === 0n) throw zeroDivision();
  let r = a % b;
  if (r !== 0n && ((r < 0n) !== (b < 0n))) r += b;
  return r;
}

function floatDivmod(vx, wx) {
  if (wx === 0) throw zeroDivision();
  let mod = vx % wx;
  let div = (vx - mod) / wx;
  if (mod !== 0) {
    if ((wx < 0) !== (mod < 0)) {
      mod += wx;
      div -= 1.0;
    }
  } else {
    mod = wx < 0 ? -0 : 0;
  }
  let floordiv;
  if (div !== 0) {
    floordiv = Math.floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = (vx / wx) < 0 || Object.is(vx / wx, -0) ? -0 : 0;
  }
  return [floordiv, mod];
}

function floatMod(vx, wx) {
  if (wx === 0) throw zeroDivision();
  let mod = vx % wx;
  if (mod !== 0) {
    if ((wx < 0) !== (mod < 0)) mod += wx;
  } else {
    mod = wx < 0 ? -0 : 0;
  }
  return mod;
}

const isOddInteger = (x) => Number.isInteger(x) && Math.abs(x % 2) === 1;

// Python's float ** float (Objects/floatobject.c float_pow).
function floatPow(iv, iw) {
  if (iw === 0) return 1.0;
  if (Number.isNaN(iv)) return iv;
  if (Number.isNaN(iw)) return iv === 1.0 ? 1.0 : iw;
  if (!Number.isFinite(iw)) {
    const av = Math.abs(iv);
    if (av === 1.0) return 1.0;
    if ((iw > 0) === (av > 1.0)) return Math.abs(iw);
    return 0.0;
  }
  if (!Number.isFinite(iv)) {
    const odd = isOddInteger(iw);
    if (iw > 0) return odd ? iv : Math.abs(iv);
    return odd ? (iv < 0 ? -0 : 0) : 0.0;
  }
  if (iv === 0) {
    const odd = isOddInteger(iw);
    if (iw < 0) throw new PyError('ZeroDivisionError', '0.0 cannot be raised to a negative power');
    return odd ? iv : 0.0;
  }
  let negate = false;
  let base = iv;
  if (iv < 0) {
    if (iw !== Math.floor(iw)) {
      throw new PyError('ValueError', 'a negative number raised to a fractional power has a complex result, '
        + 'which expressions do not support');
    }
    base = -iv;
    negate = isOddInteger(iw);
  }
  if (base === 1.0) return negate ? -1.0 : 1.0;
  let result = accuratePow(base, iw);
  if (!Number.isFinite(result)) throw new PyError('OverflowError', "(34, 'Numerical result out of range')");
  if (negate) result = -result;
  return result;
}

// Repetition count of `sequence * count`, or null when count is not an int.
function repeatCount(count) {
  if (!isInt(count)) return null;
  const n = big(count);
  if (n > SSIZE_MAX || n < -SSIZE_MAX - 1n) {
    throw new PyError('OverflowError', "cannot fit 'int' into an index-sized integer");
  }
  return n > 0n ? Number(n) : 0;
}

function repeat(sequence, count) {
  if (typeof sequence === 'string') return sequence.repeat(count);
  const items = sequence instanceof Tuple ? sequence.items : sequence;
  const out = [];
  for (let i = 0; i < count; i += 1) for (const item of items) out.push(item);
  return sequence instanceof Tuple ? new Tuple(out) : out;
}

const isSequence = (v) => typeof v === 'string' || Array.isArray(v) || v instanceof Tuple;

function setOp(op, a, b) {
  const result = new PySet();
  if (op === '|') {
    for (const v of a.values()) result.add(v);
    for (const v of b.values()) result.add(v);
  } else if (op === '&') {
    for (const v of a.values()) if (b.has(v)) result.add(v);
  } else if (op === '-') {
    for (const v of a.values()) if (!b.has(v)) result.add(v);
  } else {
    for (const v of a.values()) if (!b.has(v)) result.add(v);
    for (const v of b.values()) if (!a.has(v)) result.add(v);
  }
  return result;
}

function intBinary(op, x, y, bothBool) {
  switch (op) {
    case '+': return x + y;
    case '-': return x - y;
    case '*': return x * y;
    case '/': return trueDivide(x, y);
    case '//': return intFloorDiv(x, y);
    case '%': return intMod(x, y);
    case '**':
      if (y < 0n) return floatPow(toFloat(x), toFloat(y));
      if (x === 0n || x === 1n) return y === 0n ? 1n : x;
      if (x === -1n) return (y & 1n) === 1n ? -1n : 1n;
      return x ** y;
    case '<<':
      if (y < 0n) throw new PyError('ValueError', 'negative shift count');
      return x << y;
    case '>>':
      if (y < 0n) throw new PyError('ValueError', 'negative shift count');
      return x >> (y > 100000n ? 100000n : y);
    case '&': return bothBool ? (x & y) === 1n : x & y;
    case '|': return bothBool ? (x | y) === 1n : x | y;
    default: return bothBool ? (x ^ y) === 1n : x ^ y;
  }
}

function floatBinary(op, x, y) {
  switch (op) {
    case '+': return x + y;
    case '-': return x - y;
    case '*': return x * y;
    case '/':
      if (y === 0) throw zeroDivision();
      return x / y;
    case '//': return floatDivmod(x, y)[0];
    case '%': return floatMod(x, y);
    case '**': return floatPow(x, y);
    default: return undefined;
  }
}

// a OP b for the operators of the evaluator, with Python's types, results and errors.
function binary(op, a, b) {
  if (isNumber(a) && isNumber(b)) {
    if (isInt(a) && isInt(b)) {
      return intBinary(op, big(a), big(b), typeof a === 'boolean' && typeof b === 'boolean');
    }
    if (['<<', '>>', '&', '|', '^'].includes(op)) throw unsupported(op, a, b);
    return floatBinary(op, toFloat(a), toFloat(b));
  }
  if (op === '+') {
    if (typeof a === 'string' && typeof b === 'string') return a + b;
    if (Array.isArray(a) && Array.isArray(b)) return a.concat(b);
    if (a instanceof Tuple && b instanceof Tuple) return new Tuple(a.items.concat(b.items));
    if (isSequence(a)) {
      const kind = typeName(a);
      throw new PyError('TypeError', `can only concatenate ${kind} (not "${typeName(b)}") to ${kind}`);
    }
    throw unsupported(op, a, b);
  }
  if (op === '*') {
    if (isSequence(a)) {
      const count = repeatCount(b);
      if (count === null) throw new PyError('TypeError', `can't multiply sequence by non-int of type '${typeName(b)}'`);
      return repeat(a, count);
    }
    if (isSequence(b)) {
      const count = repeatCount(a);
      if (count === null) throw new PyError('TypeError', `can't multiply sequence by non-int of type '${typeName(a)}'`);
      return repeat(b, count);
    }
    throw unsupported(op, a, b);
  }
  if (a instanceof PySet && b instanceof PySet && ['|', '&', '-', '^'].includes(op)) return setOp(op, a, b);
  if (op === '|' && a instanceof Dict && b instanceof Dict) {
    const merged = new Dict();
    for (const [k, v] of a.entries()) merged.set(k, v);
    for (const [k, v] of b.entries()) merged.set(k, v);
    return merged;
  }
  throw unsupported(op, a, b);
}

function unary(op, value) {
  if (typeof value === 'number') {
    if (op === '-') return -value;
    if (op === '+') return value;
    throw new PyError('TypeError', "bad operand type for unary ~: 'float'");
  }
  const n = big(value);
  if (op === '-') return -n;
  if (op === '+') return n;
  return ~n;
}

function abs(value) {
  if (typeof value === 'number') return Math.abs(value);
  if (isInt(value)) {
    const n = big(value);
    return n < 0n ? -n : n;
  }
  throw new PyError('TypeError', `bad operand type for abs(): '${typeName(value)}'`);
}

// Python's float -> int conversion.
function floatToInt(x) {
  if (Number.isNaN(x)) throw new PyError('ValueError', 'cannot convert float NaN to integer');
  if (!Number.isFinite(x)) throw new PyError('OverflowError', 'cannot convert float infinity to integer');
  return BigInt(Math.trunc(x));
}

function roundHalfEven(x) {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

// The exact value of a finite float as [mantissa, exponent]: x == mantissa * 2**exponent.
function decompose(x) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exponentBits = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & ((1n << 52n) - 1n);
  let exponent;
  if (exponentBits === 0) exponent = -1074;
  else {
    mantissa |= 1n << 52n;
    exponent = exponentBits - 1075;
  }
  return [(bits >> 63n) ? -mantissa : mantissa, exponent];
}

// round(x, ndigits) for a float: the exact binary value rounded half-even to ndigits decimals (as dtoa does).
function roundFloat(x, ndigits) {
  if (!Number.isFinite(x) || x === 0) return x;
  const [mantissa, exponent] = decompose(Math.abs(x));
  let num = mantissa;
  let den = 1n;
  if (exponent >= 0) num <<= BigInt(exponent);
  else den <<= BigInt(-exponent);
  if (ndigits >= 0) num *= 10n ** BigInt(ndigits);
  else den *= 10n ** BigInt(-ndigits);
  let q = num / den;
  const r2 = 2n * (num % den);
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) q += 1n;
  const result = Number(`${q}e${-ndigits}`);
  if (!Number.isFinite(result)) throw new PyError('OverflowError', 'rounded value too large to represent');
  return x < 0 ? -result : result;
}

function roundInt(n, ndigits) {
  if (ndigits >= 0) return n;
  const unit = 10n ** BigInt(-ndigits);
  let q = intFloorDiv(n, unit);
  const r2 = 2n * (n - q * unit);
  if (r2 > unit || (r2 === unit && (q & 1n) === 1n)) q += 1n;
  return q * unit;
}

// round(number[, ndigits]) once ndigits is known to be None or an int.
function round(number, ndigits) {
  if (typeof number === 'number') {
    if (ndigits === null || ndigits === undefined) return floatToInt(roundHalfEven(number));
    return roundFloat(number, Number(big(ndigits)));
  }
  if (isInt(number)) {
    if (ndigits === null || ndigits === undefined) return big(number);
    return roundInt(big(number), Number(big(ndigits)));
  }
  throw new PyError('TypeError', `type ${typeName(number)} doesn't define __round__ method`);
}

const PY_SPACE = /^[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/;

function isSpace(ch) {
  return PY_SPACE.test(ch);
}

// The decimal value of a Unicode decimal digit (category Nd come in runs of ten, 0 to 9), or -1.
function decimalValue(ch) {
  if (!/^\p{Nd}$/u.test(ch)) return -1;
  let cp = ch.codePointAt(0);
  let start = cp;
  while (/^\p{Nd}$/u.test(String.fromCodePoint(start - 1))) start -= 1;
  cp -= start;
  return cp % 10;
}

// Unicode digits to ASCII, Unicode spaces to ' ', anything else outside ASCII ends the text with '?'.
function toAsciiNumber(text) {
  let out = '';
  for (const ch of codePoints(text)) {
    if (ch.charCodeAt(0) < 127 && ch.length === 1) out += ch;
    else if (isSpace(ch)) out += ' ';
    else {
      const digit = decimalValue(ch);
      if (digit < 0) return `${out}?`;
      out += String(digit);
    }
  }
  return out;
}

const ASCII_SPACE = ' \t\n\r\x0b\x0c';

function parseIntText(text, base) {
  const invalid = () => new PyError('ValueError',
    `invalid literal for int() with base ${base}: ${repr(text).slice(0, 200)}`);
  let s = toAsciiNumber(text);
  const nul = s.indexOf('\0');
  if (nul >= 0) s = s.slice(0, nul) + '?';
  let i = 0;
  while (i < s.length && ASCII_SPACE.includes(s[i])) i += 1;
  let negative = false;
  if (s[i] === '+') i += 1;
  else if (s[i] === '-') { negative = true; i += 1; }
  let radix = base;
  let errorIfNonzero = false;
  if (radix === 0) {
    const next = (s[i + 1] || '').toLowerCase();
    if (s[i] !== '0') radix = 10;
    else if (next === 'x') radix = 16;
    else if (next === 'o') radix = 8;
    else if (next === 'b') radix = 2;
    else { errorIfNonzero = true; radix = 10; }
  }
  if (s[i] === '0') {
    const next = (s[i + 1] || '').toLowerCase();
    if ((radix === 16 && next === 'x') || (radix === 8 && next === 'o') || (radix === 2 && next === 'b')) {
      i += 2;
      if (s[i] === '_') i += 1;
    }
  }
  if (s[i] === '_') throw invalid();
  const start = i;
  let digits = '';
  let previousUnderscore = false;
  for (; i < s.length; i += 1) {
    const ch = s[i];
    if (ch === '_') {
      if (previousUnderscore) throw invalid();
      previousUnderscore = true;
      continue;
    }
    const value = parseInt(ch, 36);
    if (Number.isNaN(value) || value >= radix) break;
    digits += ch;
    previousUnderscore = false;
  }
  if (previousUnderscore || i === start || digits === '') throw invalid();
  while (i < s.length && ASCII_SPACE.includes(s[i])) i += 1;
  if (i !== s.length) throw invalid();
  let result = 0n;
  if (radix === 10) result = BigInt(digits);
  else {
    const R = BigInt(radix);
    for (const ch of digits) result = result * R + BigInt(parseInt(ch, 36));
  }
  if (errorIfNonzero && result !== 0n) throw invalid();
  return negative ? -result : result;
}

// int(value) and int(value, base), after the evaluator's own checks.
function toInt(value, base) {
  if (base === undefined || base === null) {
    if (typeof value === 'number') return floatToInt(value);
    if (isInt(value)) return big(value);
    if (typeof value === 'string') return parseIntText(value, 10);
    throw new PyError('TypeError', 'int() argument must be a string, a bytes-like object or a real number, '
      + `not '${typeName(value)}'`);
  }
  if (!isInt(base)) throw new PyError('TypeError', `'${typeName(base)}' object cannot be interpreted as an integer`);
  let radix = big(base);
  if (radix > SSIZE_MAX) radix = SSIZE_MAX;
  if ((radix !== 0n && radix < 2n) || radix > 36n) {
    throw new PyError('ValueError', 'int() base must be >= 2 and <= 36, or 0');
  }
  if (typeof value !== 'string') throw new PyError('TypeError', "int() can't convert non-string with explicit base");
  return parseIntText(value, Number(radix));
}

const FLOAT_TEXT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;

function parseFloatText(text) {
  const invalid = () => new PyError('ValueError', `could not convert string to float: ${repr(text)}`);
  let s = toAsciiNumber(text);
  let start = 0;
  let end = s.length;
  while (start < end && ASCII_SPACE.includes(s[start])) start += 1;
  while (end - 1 > start && ASCII_SPACE.includes(s[end - 1])) end -= 1;
  s = s.slice(start, end);
  if (s.includes('_')) {
    let out = '';
    let previous = '';
    for (const ch of s) {
      if (ch === '_') {
        if (!(previous >= '0' && previous <= '9')) throw invalid();
      } else {
        if (previous === '_' && !(ch >= '0' && ch <= '9')) throw invalid();
        out += ch;
      }
      previous = ch;
    }
    if (previous === '_') throw invalid();
    s = out;
  }
  if (!FLOAT_TEXT.test(s)) throw invalid();
  const lower = s.toLowerCase();
  const negative = lower.startsWith('-');
  const body = lower.replace(/^[+-]/, '');
  if (body === 'inf' || body === 'infinity') return negative ? -Infinity : Infinity;
  if (body === 'nan') return NaN;
  return Number(s);
}

function toFloatValue(value) {
  if (typeof value === 'number') return value;
  if (isInt(value)) return toFloat(value);
  if (typeof value === 'string') return parseFloatText(value);
  throw new PyError('TypeError', `float() argument must be a string or a real number, not '${typeName(value)}'`);
}

module.exports = {
  SSIZE_MAX, toFloat, binary, unary, abs, round, toInt, toFloatValue, isSpace, decimalValue, trueDivide,
  floatPow, PYTHON,
};
