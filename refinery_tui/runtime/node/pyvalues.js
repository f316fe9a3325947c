// Python values in JS for the expression evaluator: types, truth, equality, ordering, hashing, repr, JSON in.
'use strict';

// None is null, bool is boolean, int is BigInt, float is number, str is string, list is Array; the classes below
// are tuple, dict, set and the builtin functions. `PYTHON.minor` picks version-specific behaviour (3.11 - 3.13).
const PYTHON = { minor: 12 };

class PyError extends Error {
  constructor(pyType, message) {
    super(message);
    this.pyType = pyType;
  }
}

class ExpressionError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ExpressionError';
  }
}

// The expression does not parse, or uses something the evaluator refuses. `offset` is 1-based.
class ExpressionSyntaxError extends ExpressionError {
  constructor(message, offset = 1, line = 1) {
    super(message);
    this.name = 'ExpressionSyntaxError';
    this.offset = Math.max(1, offset);
    this.line = Math.max(1, line);
  }
}

// The expression parsed but failed while evaluating (a missing key, a division by zero, too much work).
class ExpressionRuntimeError extends ExpressionError {
  constructor(message) {
    super(message);
    this.name = 'ExpressionRuntimeError';
  }
}

class Tuple {
  constructor(items) {
    this.items = items;
  }
}

class Dict {
  constructor() {
    this.map = new Map(); // hash key -> [key, value], in insertion order
  }
  get size() {
    return this.map.size;
  }
  set(key, value) {
    const hash = hashKey(key);
    const entry = this.map.get(hash);
    if (entry) entry[1] = value;
    else this.map.set(hash, [key, value]);
  }
  entry(key) {
    return this.map.get(hashKey(key));
  }
  keys() {
    return Array.from(this.map.values(), (entry) => entry[0]);
  }
  values() {
    return Array.from(this.map.values(), (entry) => entry[1]);
  }
  entries() {
    return Array.from(this.map.values());
  }
}

class PySet {
  constructor() {
    this.map = new Map(); // hash key -> element
  }
  get size() {
    return this.map.size;
  }
  add(value) {
    const hash = hashKey(value);
    if (!this.map.has(hash)) this.map.set(hash, value);
  }
  has(value) {
    return this.map.has(hashKey(value));
  }
  values() {
    return Array.from(this.map.values());
  }
}

class Builtin {
  constructor(name, fn) {
    this.name = name;
    this.fn = fn;
    this.typeName = name === 'round' || name === 'int' ? 'function' : 'builtin_function_or_method';
  }
}

const SURROGATE = /[\uD800-\uDFFF]/;

function hasSurrogates(text) {
  return SURROGATE.test(text);
}

function codePoints(text) {
  return hasSurrogates(text) ? Array.from(text) : text.split('');
}

// Where each code point of text starts (code unit offsets), then text.length; null when every code unit is one.
// The last long text asked about is remembered: an expression indexes one text many times.
const LONG_TEXT = 1024;
let lastText = null;
let lastOffsets = null;

function codePointOffsets(text) {
  if (!hasSurrogates(text)) return null;
  if (text.length >= LONG_TEXT && text === lastText) return lastOffsets;
  const offsets = new Uint32Array(text.length + 1);
  let n = 0;
  let i = 0;
  while (i < text.length) {
    offsets[n] = i;
    n += 1;
    const unit = text.charCodeAt(i);
    const paired = unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length
      && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    i += paired ? 2 : 1;
  }
  offsets[n] = text.length;
  const result = offsets.subarray(0, n + 1);
  if (text.length >= LONG_TEXT) {
    lastText = text;
    lastOffsets = result;
  }
  return result;
}

function strLen(text) {
  if (text.length >= LONG_TEXT || !hasSurrogates(text)) {
    const offsets = codePointOffsets(text);
    return offsets === null ? text.length : offsets.length - 1;
  }
  let count = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    const paired = unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length
      && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    if (paired) i += 1;
    count += 1;
  }
  return count;
}

// A str as a sequence of code points, read without building one string per code point.
function textView(text) {
  const offsets = codePointOffsets(text);
  if (offsets === null) {
    return { length: text.length, at: (k) => text[k], slice: (a, b) => text.slice(a, b) };
  }
  return {
    length: offsets.length - 1,
    at: (k) => text.slice(offsets[k], offsets[k + 1]),
    slice: (a, b) => text.slice(offsets[a], offsets[b]),
  };
}

function typeName(value) {
  if (value === null || value === undefined) return 'NoneType';
  switch (typeof value) {
    case 'boolean': return 'bool';
    case 'bigint': return 'int';
    case 'number': return 'float';
    case 'string': return 'str';
    default:
  }
  if (Array.isArray(value)) return 'list';
  if (value instanceof Tuple) return 'tuple';
  if (value instanceof Dict) return 'dict';
  if (value instanceof PySet) return 'set';
  if (value instanceof Builtin) return value.typeName;
  return 'object';
}

const isInt = (v) => typeof v === 'bigint' || typeof v === 'boolean';
const isNumber = (v) => typeof v === 'bigint' || typeof v === 'boolean' || typeof v === 'number';
const big = (v) => (typeof v === 'boolean' ? (v ? 1n : 0n) : v);

function truthy(value) {
  if (value === null || value === undefined) return false;
  switch (typeof value) {
    case 'boolean': return value;
    case 'bigint': return value !== 0n;
    case 'number': return value !== 0;
    case 'string': return value.length > 0;
    default:
  }
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof Tuple) return value.items.length > 0;
  if (value instanceof Dict || value instanceof PySet) return value.size > 0;
  return true;
}

let nanCount = 0;

function hashKey(value) {
  if (value === null || value === undefined) return 'N';
  switch (typeof value) {
    case 'boolean': return value ? 'i1' : 'i0';
    case 'bigint': return `i${value}`;
    case 'number':
      if (Number.isInteger(value)) return `i${BigInt(value)}`;
      if (Number.isNaN(value)) { nanCount += 1; return `nan${nanCount}`; } // every NaN is its own key
      return `f${value}`;
    case 'string': return `s${value}`;
    default:
  }
  if (value instanceof Tuple) return `t${JSON.stringify(value.items.map(hashKey))}`;
  if (value instanceof Builtin) return `b${value.name}`;
  throw new PyError('TypeError', `unhashable type: '${typeName(value)}'`);
}

function sameObject(a, b) {
  return a === b && typeof a === 'object' && a !== null;
}

function eq(a, b) {
  if (sameObject(a, b)) return true; // Python compares items by identity first: a container equals itself
  if (isNumber(a)) {
    if (!isNumber(b)) return false;
    if (typeof a === 'number' || typeof b === 'number') return big(a) == big(b); // eslint-disable-line eqeqeq
    return big(a) === big(b);
  }
  if (a === null || a === undefined) return b === null || b === undefined;
  if (typeof a === 'string') return a === b;
  if (Array.isArray(a)) return Array.isArray(b) && sequenceEq(a, b);
  if (a instanceof Tuple) return b instanceof Tuple && sequenceEq(a.items, b.items);
  if (a instanceof Dict) {
    if (!(b instanceof Dict) || a.size !== b.size) return false;
    for (const [key, value] of a.map.values()) {
      const other = b.entry(key);
      if (!other || !(sameObject(value, other[1]) || eq(value, other[1]))) return false;
    }
    return true;
  }
  if (a instanceof PySet) {
    if (!(b instanceof PySet) || a.size !== b.size) return false;
    for (const value of a.map.values()) if (!b.has(value)) return false;
    return true;
  }
  return a === b;
}

function sequenceEq(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) {
    if (!(sameObject(a[i], b[i]) || eq(a[i], b[i]))) return false;
  }
  return true;
}

// Python's `is`: identity. Constants are distinct objects in CPython except None, bools, small ints, the empty
// tuple and one-character latin-1 strings; values taken from the same place are the same object.
function is(a, b) {
  if (a === null || a === undefined) return b === null || b === undefined;
  if (typeof a === 'boolean' || typeof b === 'boolean') return a === b;
  if (typeof a === 'bigint') return typeof b === 'bigint' && a === b && a >= -5n && a <= 256n;
  if (typeof a === 'string') {
    return typeof b === 'string' && a === b && a.length <= 1 && (a === '' || a.charCodeAt(0) < 256);
  }
  if (a instanceof Tuple && b instanceof Tuple && a.items.length === 0 && b.items.length === 0) return true;
  return typeof a === 'object' && a === b;
}

const OPS = {
  '<': (c) => c < 0, '<=': (c) => c <= 0, '>': (c) => c > 0, '>=': (c) => c >= 0,
};

function compareStrings(a, b) {
  if (a === b) return 0;
  if (!hasSurrogates(a) && !hasSurrogates(b)) return a < b ? -1 : 1; // code unit order is code point order
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      const cx = a.codePointAt(i);
      const cy = b.codePointAt(i);
      return cx < cy ? -1 : 1;
    }
  }
  return a.length === b.length ? 0 : (a.length < b.length ? -1 : 1);
}

// `<`, `<=`, `>`, `>=` with Python's rules; raises TypeError for unorderable pairs.
function order(op, a, b) {
  if (isNumber(a) && isNumber(b)) {
    const x = big(a);
    const y = big(b);
    switch (op) {
      case '<': return x < y;
      case '<=': return x <= y;
      case '>': return x > y;
      default: return x >= y;
    }
  }
  if (typeof a === 'string' && typeof b === 'string') return OPS[op](compareStrings(a, b));
  if (Array.isArray(a) && Array.isArray(b)) return orderSequences(op, a, b);
  if (a instanceof Tuple && b instanceof Tuple) return orderSequences(op, a.items, b.items);
  if (a instanceof PySet && b instanceof PySet) {
    const subset = (x, y) => x.size <= y.size && x.values().every((v) => y.has(v));
    switch (op) {
      case '<': return a.size < b.size && subset(a, b);
      case '<=': return subset(a, b);
      case '>': return a.size > b.size && subset(b, a);
      default: return subset(b, a);
    }
  }
  throw new PyError('TypeError', `'${op}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

function orderSequences(op, a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    if (!(sameObject(a[i], b[i]) || eq(a[i], b[i]))) return order(op, a[i], b[i]);
  }
  return OPS[op](a.length - b.length);
}

function contains(container, item) {
  if (typeof container === 'string') {
    if (typeof item !== 'string') {
      throw new PyError('TypeError', `'in <string>' requires string as left operand, not ${typeName(item)}`);
    }
    return container.includes(item);
  }
  const items = Array.isArray(container) ? container : container instanceof Tuple ? container.items : null;
  if (items) return items.some((element) => sameObject(element, item) || eq(element, item));
  if (container instanceof Dict) return container.entry(item) !== undefined;
  if (container instanceof PySet) return container.has(item);
  throw new PyError('TypeError', `argument of type '${typeName(container)}' is not iterable`);
}

// The elements a `for` (or list(), sorted(), ...) goes through.
function iterate(value) {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return codePoints(value);
  if (value instanceof Tuple) return value.items;
  if (value instanceof Dict) return value.keys();
  if (value instanceof PySet) return value.values();
  throw new PyError('TypeError', `'${typeName(value)}' object is not iterable`);
}

function isPrintable(ch) {
  return ch === ' ' || !/^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u.test(ch);
}

const hex = (cp, width) => cp.toString(16).padStart(width, '0');

function reprString(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x7f || isPrintable(ch)) out += ch;
    else if (cp <= 0xff) out += `\\x${hex(cp, 2)}`;
    else if (cp <= 0xffff) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return out + quote;
}

// repr() of a float: the shortest round-tripping digits, in Python's layout (1e+16, 1e-05, 1.0, inf).
function reprFloat(x) {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mantissa, exponent] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const decpt = Number(exponent) + 1; // value = 0.DIGITS * 10**decpt
  if (decpt <= -4 || decpt > 16) {
    const exp = decpt - 1;
    const body = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${body}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

function repr(value) {
  if (value === null || value === undefined) return 'None';
  switch (typeof value) {
    case 'boolean': return value ? 'True' : 'False';
    case 'bigint': return value.toString();
    case 'number': return reprFloat(value);
    case 'string': return reprString(value);
    default:
  }
  if (Array.isArray(value)) return `[${value.map(repr).join(', ')}]`;
  if (value instanceof Tuple) {
    const items = value.items.map(repr);
    return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
  }
  if (value instanceof Dict) return `{${value.entries().map(([k, v]) => `${repr(k)}: ${repr(v)}`).join(', ')}}`;
  if (value instanceof PySet) return value.size ? `{${value.values().map(repr).join(', ')}}` : 'set()';
  if (value instanceof Builtin) {
    return value.typeName === 'function' ? `<function _${value.name}>` : `<built-in function ${value.name}>`;
  }
  return String(value);
}

const str = (value) => (typeof value === 'string' ? value : repr(value));

function bitLength(n) {
  if (n < 0n) n = -n;
  return n === 0n ? 0 : n.toString(2).length;
}

function size(value) {
  if (typeof value === 'string') return strLen(value);
  if (Array.isArray(value)) return value.length;
  if (value instanceof Tuple) return value.items.length;
  if (value instanceof Dict || value instanceof PySet) return value.size;
  return 1;
}

// Plain JS data (as JSON.parse gives it) to Python values: integral numbers become ints, others floats.
function fromJS(value) {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'number': return Number.isInteger(value) ? BigInt(value) : value;
    case 'boolean': case 'string': case 'bigint': return value;
    default:
  }
  if (Array.isArray(value)) return value.map(fromJS);
  if (value instanceof Tuple || value instanceof Dict || value instanceof PySet || value instanceof Builtin) {
    return value;
  }
  const dict = new Dict();
  for (const key of Object.keys(value)) dict.set(key, fromJS(value[key]));
  return dict;
}

// JSON text to Python values exactly as Python's json.loads reads it (1 is an int, 1.0 a float, big ints
// stay exact, NaN / Infinity / -Infinity are accepted).
function parseJSON(text) {
  let at = 0;
  const fail = (what) => {
    throw new SyntaxError(`JSON: ${what} at ${at}`);
  };
  const space = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at])) at += 1;
  };
  const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
  const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
  const value = () => {
    space();
    const ch = text[at];
    if (ch === '{') {
      at += 1;
      const dict = new Dict();
      space();
      if (text[at] === '}') { at += 1; return dict; }
      for (;;) {
        space();
        if (text[at] !== '"') fail('expected a key');
        const key = string();
        space();
        if (text[at] !== ':') fail("expected ':'");
        at += 1;
        dict.set(key, value());
        space();
        if (text[at] === ',') { at += 1; continue; }
        if (text[at] === '}') { at += 1; return dict; }
        fail("expected ',' or '}'");
      }
    }
    if (ch === '[') {
      at += 1;
      const list = [];
      space();
      if (text[at] === ']') { at += 1; return list; }
      for (;;) {
        list.push(value());
        space();
        if (text[at] === ',') { at += 1; continue; }
        if (text[at] === ']') { at += 1; return list; }
        fail("expected ',' or ']'");
      }
    }
    if (ch === '"') return string();
    for (const [word, result] of [['true', true], ['false', false], ['null', null], ['NaN', NaN],
      ['Infinity', Infinity], ['-Infinity', -Infinity]]) {
      if (text.startsWith(word, at)) { at += word.length; return result; }
    }
    NUMBER.lastIndex = at;
    const match = NUMBER.exec(text);
    if (!match) fail('unexpected character');
    at = NUMBER.lastIndex;
    return match[1] === undefined && match[2] === undefined ? BigInt(match[0]) : Number(match[0]);
  };
  const string = () => {
    STRING.lastIndex = at;
    const match = STRING.exec(text);
    if (!match) fail('bad string');
    at = STRING.lastIndex;
    return JSON.parse(match[0]);
  };
  const result = value();
  space();
  if (at !== text.length) fail('extra data');
  return result;
}

module.exports = {
  PYTHON, PyError, ExpressionError, ExpressionSyntaxError, ExpressionRuntimeError, Tuple, Dict, PySet, Builtin,
  typeName, isInt, isNumber, big, truthy, hashKey, eq, is, order, compareStrings, contains, iterate, repr,
  reprFloat, reprString, str, bitLength, size, strLen, codePoints, textView, hasSurrogates, fromJS, parseJSON, sameObject,
};
