// JSON text exactly as Python's json.dumps writes it (separators, ensure_ascii, float repr), plus small Python-isms.
'use strict';

const { reprFloat } = require('./pyvalues');

const COMPACT = [',', ':'];
const SPACED = [', ', ': '];

function number(value) {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return Number.isInteger(value) ? String(value) : reprFloat(value);
}

function encode(value, itemSep, keySep) {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string': return JSON.stringify(value);
    case 'boolean': return value ? 'true' : 'false';
    case 'bigint': return value.toString();
    case 'number': return number(value);
    default:
  }
  if (Array.isArray(value)) return `[${value.map((item) => encode(item, itemSep, keySep)).join(itemSep)}]`;
  const parts = Object.keys(value).map((key) => JSON.stringify(key) + keySep + encode(value[key], itemSep, keySep));
  return `{${parts.join(itemSep)}}`;
}

// Every character outside ' '..'~' as \uXXXX (lower-case hex, astral ones as surrogate pairs), as ensure_ascii does.
function asciiOnly(text) {
  return text.replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// json.dumps(value, separators=..., ensure_ascii=...): defaults as Python's (", ", ": ") and ensure_ascii=True.
function dumps(value, { separators = SPACED, ensureAscii = true } = {}) {
  const text = encode(value, separators[0], separators[1]);
  return ensureAscii ? asciiOnly(text) : text;
}

// json.dumps(value, separators=(",", ":")): the compact form the runtime stores and sends.
const compact = (value) => dumps(value, { separators: COMPACT });

// len() of a Python str: code points, not UTF-16 units.
const pyLength = (text) => {
  let surrogates = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xdc00 && unit <= 0xdfff && i > 0 && text.charCodeAt(i - 1) >= 0xd800
      && text.charCodeAt(i - 1) <= 0xdbff) surrogates += 1;
  }
  return text.length - surrogates;
};

// text[:count] of a Python str (count in code points).
const pySlice = (text, count) => Array.from(text).slice(0, count).join('');

// Python truthiness of a JSON value: None, False, 0, "", [] and {} are false.
function truthy(value) {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

// `value or fallback`, with Python truthiness.
const or = (value, fallback) => (truthy(value) ? value : fallback);

// f"{x:g}": six significant digits, trailing zeros dropped, exponent form below 1e-4 and from 1e6.
function formatG(x) {
  if (x === 0) return '0';
  const [mantissa, exponent] = x.toExponential(5).split('e');
  const exp = Number(exponent);
  const strip = (text) => (text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text);
  if (exp < -4 || exp >= 6) return `${strip(mantissa)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return strip(x.toFixed(Math.max(0, 5 - exp)));
}

// int(value) for a JSON value, as Python does it (ints, floats truncated, bools, decimal text); else a ValueError.
function toInt(value) {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === 'string' && /^\s*[+-]?\d+(_\d+)*\s*$/.test(value)) return parseInt(value.replace(/_/g, ''), 10);
  const error = new Error(`invalid literal for int(): ${JSON.stringify(value)}`);
  error.name = typeof value === 'string' ? 'ValueError' : 'TypeError';
  throw error;
}

module.exports = { dumps, compact, asciiOnly, pyLength, pySlice, truthy, or, formatG, toInt, COMPACT, SPACED };
