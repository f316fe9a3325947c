// The builtins and methods `if` expressions may call, with CPython's results, argument checks and messages.
'use strict';

const V = require('./pyvalues');
const N = require('./pynumbers');
const { sortValues } = require('./pysort');
const { STR_METHODS } = require('./pystr');
const { MAX_SEQUENCE, tooCostly } = require('./expression_cost');
const { reprWithin, shortRepr } = require('./expression_repr');
const {
  typeError, invalidKeyword, noKeywords, noArgs, exactlyOne, atMost, bindPython, sliceIndex,
} = require('./pyargs');

const {
  PYTHON, PyError, ExpressionRuntimeError, Tuple, Dict, Builtin, typeName, isInt, big, truthy, eq, order,
  sameObject, iterate, strLen, hashKey,
} = V;

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
  const total = args.length + kwargs.length;
  if (total > 2) throw typeError(`sum() takes at most 2 arguments (${total} given)`);
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
  if (args.length === 1) {
    if (typeof args[0] === 'string') return args[0];
    const text = reprWithin(args[0], MAX_SEQUENCE);
    if (text === null) throw tooCostly(`str() would be longer than ${MAX_SEQUENCE} characters`);
    return text;
  }
  for (const [index, label] of [[1, 'encoding'], [2, 'errors']]) {
    if (args.length > index && typeof args[index] !== 'string') {
      const value = args[index];
      const kind = value === null && PYTHON.minor < 13 ? 'None' : typeName(value);
      throw typeError(`str() argument '${label}' must be str, not ${kind}`);
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
    if (PYTHON.minor >= 12) {
      reverse = truthy(value); // a plain truth value from 3.12 on; an int before
      continue;
    }
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
  throw new PyError('ValueError', kind === 'list' ? `${shortRepr(args[0])} is not in list`
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
