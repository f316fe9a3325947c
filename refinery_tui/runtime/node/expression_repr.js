// The Node twin of runtime/expression_repr.py: repr() built with a bound, for str() and for error messages.
'use strict';

// The text is exactly Python's repr; a shared value is written out as often as it appears, and the writer stops
// as soon as the bound (in code points, as Python counts) is passed, so no huge text is ever built.

const V = require('./pyvalues');

const { Tuple, Dict, PySet, repr, reprString, strLen, hasSurrogates } = V;

const MESSAGE_REPR = 200;

// The key of a dict subscript with a slice (Python 3.12's KeyError quotes it as slice(a, b, c)).
class SliceKey {
  constructor(lower, upper, step) {
    this.parts = [lower, upper, step];
  }
}

class Text {
  constructor(text) {
    this.text = text;
  }
}

const COMMA = new Text(', ');
const COLON = new Text(': ');

function* items(values, opening, closing) {
  yield new Text(opening);
  let first = true;
  for (const value of values) {
    if (!first) yield COMMA;
    first = false;
    yield value;
  }
  yield new Text(closing);
}

function* entries(dict) {
  yield new Text('{');
  let first = true;
  for (const [key, value] of dict.map.values()) {
    if (!first) yield COMMA;
    first = false;
    yield key;
    yield COLON;
    yield value;
  }
  yield new Text('}');
}

function prefix(text, count) {
  if (!hasSurrogates(text)) return text.slice(0, count);
  let out = '';
  let taken = 0;
  for (const ch of text) {
    if (taken === count) break;
    out += ch;
    taken += 1;
  }
  return out;
}

// The repr of text's first `count` code points, quoted and escaped as repr(text) quotes and escapes them.
function stringReprStart(text, count) {
  const head = prefix(text, count);
  const start = reprString(head);
  if (text.includes("'") && !text.includes('"')) return start[0] === '"' ? start : `"${start.slice(1, -1)}"`;
  return start[0] === "'" ? start : `${reprString(`${head}"`).slice(0, -2)}'`;
}

class Full extends Error {}

class Writer {
  constructor(limit) {
    this.limit = limit;
    this.parts = [];
    this.length = 0;
  }

  add(text) {
    this.parts.push(text);
    this.length += strLen(text);
    if (this.length > this.limit) throw new Full();
  }

  leaf(value) {
    if (typeof value === 'string' && strLen(value) + 2 > this.limit - this.length) {
      this.add(stringReprStart(value, this.limit - this.length + 1)); // it overflows: the start will do
    } else this.add(repr(value));
  }

  value(root) {
    const stack = [[root][Symbol.iterator]()];
    while (stack.length) {
      const next = stack[stack.length - 1].next();
      if (next.done) {
        stack.pop();
        continue;
      }
      const item = next.value;
      if (item instanceof Text) this.add(item.text);
      else if (Array.isArray(item)) stack.push(items(item, '[', ']'));
      else if (item instanceof Tuple) stack.push(items(item.items, '(', item.items.length === 1 ? ',)' : ')'));
      else if (item instanceof Dict) stack.push(entries(item));
      else if (item instanceof PySet) {
        if (item.size) stack.push(items(item.values(), '{', '}'));
        else this.add('set()');
      } else if (item instanceof SliceKey) stack.push(items(item.parts, 'slice(', ')'));
      else this.leaf(item);
    }
  }

  text() {
    return this.parts.join('');
  }
}

// repr(value) when it is at most `limit` code points long, else null (found without building the whole text).
function reprWithin(value, limit) {
  const writer = new Writer(limit);
  try {
    writer.value(value);
  } catch (error) {
    if (error instanceof Full) return null;
    throw error;
  }
  return writer.text();
}

// repr(value) for a message: its first `limit` code points and "..." when it is longer.
function shortRepr(value, limit = MESSAGE_REPR) {
  const writer = new Writer(limit);
  try {
    writer.value(value);
  } catch (error) {
    if (error instanceof Full) return `${prefix(writer.text(), limit)}...`;
    throw error;
  }
  return writer.text();
}

const MAX_MESSAGE = 2000;

// An error message cut to MAX_MESSAGE code points, so that no message carries a huge value.
function boundedMessage(text) {
  return strLen(text) <= MAX_MESSAGE ? text : `${prefix(text, MAX_MESSAGE)}...`;
}

module.exports = { MESSAGE_REPR, MAX_MESSAGE, SliceKey, reprWithin, shortRepr, boundedMessage };
