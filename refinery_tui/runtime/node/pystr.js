// The str methods `if` expressions may call, with CPython's results (Unicode rules included) and errors.
'use strict';

const {
  PYTHON, PyError, Tuple, typeName, isInt, big, strLen, codePoints, hasSurrogates,
} = require('./pyvalues');
const { SSIZE_MAX } = require('./pynumbers');
const {
  typeError, invalidKeyword, noKeywords, noArgs, atMost, sliceIndex, adjustIndices,
} = require('./pyargs');


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

// At most MAX_SPLITS splits are made: a longer result is refused all the same, and is never built.
const MAX_SPLITS = 100000; // MAX_SEQUENCE of expression_cost.js (which requires this module's users)

function split(text, sep, maxsplit) {
  const limit = maxsplit < 0 || maxsplit > MAX_SPLITS ? MAX_SPLITS : maxsplit;
  const out = [];
  if (sep === null) {
    const chars = text; // no whitespace is a surrogate: scanning code units splits where code points would
    const space = (ch) => PY_WHITESPACE.test(ch);
    let i = 0;
    let count = limit;
    while (count-- > 0) {
      while (i < chars.length && space(chars[i])) i += 1;
      if (i === chars.length) break;
      const j = i;
      i += 1;
      while (i < chars.length && !space(chars[i])) i += 1;
      out.push(chars.slice(j, i));
    }
    if (i < chars.length) {
      while (i < chars.length && space(chars[i])) i += 1;
      if (i !== chars.length) out.push(chars.slice(i));
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

// find() / count() / startswith() / endswith() arguments: [sub, start, end]. `checkSub` runs first where the
// version's argument parser checks the first argument before the bounds (find and count from 3.13 on).
function findArgs(name, args, kwargs, checkSub = null) {
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
  if (checkSub) checkSub(args[0]);
  const start = args.length > 1 ? sliceIndex(args[1]) : null;
  const end = args.length > 2 ? sliceIndex(args[2]) : null;
  return [args[0], start === null ? 0 : start, end === null ? Number.MAX_SAFE_INTEGER : end];
}

function findOrCount(name, text, args, kwargs) {
  const check = (sub) => {
    if (typeof sub === 'string') return;
    if (PYTHON.minor >= 13) {
      throw typeError(`${name}() argument 1 must be str, not ${sub === null ? 'None' : typeName(sub)}`);
    }
    throw typeError(`must be str, not ${typeName(sub)}`);
  };
  const [sub, start, end] = findArgs(name, args, kwargs, PYTHON.minor >= 13 ? check : null);
  check(sub);
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
      if (n > SSIZE_MAX || n < -SSIZE_MAX - 1n) {
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

module.exports = { STR_METHODS };
