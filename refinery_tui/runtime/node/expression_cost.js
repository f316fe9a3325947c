// The Node twin of runtime/expression_cost.py: true sizes of values, counted before any big value is built.
'use strict';

// A value's weight is one element per value in it (nested ones, and each appearance of a shared one, included)
// and one character per character of its text (code points, as Python counts them), again per appearance.
// Weights are remembered per object for one evaluation, so weighing shared structures costs their distinct parts.

const V = require('./pyvalues');

const { ExpressionRuntimeError, Tuple, Dict, PySet, isInt, big, bitLength, size, strLen } = V;

const MAX_STEPS = 100000;
const MAX_SECONDS = 1.0;
const MAX_INT_BITS = 4096;
const MAX_SEQUENCE = 100000;
const MAX_WEIGHT = 1000000;
const MAX_CHARACTERS = 10000000;
const ELEMENTS_PER_STEP = 16;
const CHARACTERS_PER_STEP = 256;

const tooCostly = (detail) => new ExpressionRuntimeError(`expression too costly: ${detail}`);

const isContainer = (v) => Array.isArray(v) || v instanceof Tuple || v instanceof Dict || v instanceof PySet;

// [elements, characters] of a value that holds no others; null for a container.
function leafWeight(value) {
  if (typeof value === 'string') return [1, strLen(value)];
  return isContainer(value) ? null : [1, 0];
}

function* children(value) {
  if (value instanceof Dict) {
    for (const [key, entry] of value.map.values()) {
      yield key;
      yield entry;
    }
  } else if (value instanceof Tuple) yield* value.items;
  else if (value instanceof PySet) yield* value.map.values();
  else yield* value;
}

const addCharacters = (a, b) => Math.min(a + b, MAX_CHARACTERS + 1);

class Weigher {
  constructor() {
    this.known = new Map(); // container -> [elements, characters]
  }

  known_(value) {
    return leafWeight(value) || this.known.get(value) || null;
  }

  // [elements, characters] of value; elements stop counting past MAX_WEIGHT, characters past MAX_CHARACTERS.
  weight(value) {
    const leaf = this.known_(value);
    if (leaf) return leaf;
    const totals = [[1, 0]];
    const stack = [[value, children(value)]];
    for (;;) {
      const [container, items] = stack[stack.length - 1];
      const total = totals[totals.length - 1];
      let descended = false;
      for (let next = items.next(); !next.done; next = items.next()) {
        const child = next.value;
        const childWeight = this.known_(child);
        if (childWeight === null) {
          stack.push([child, children(child)]);
          totals.push([1, 0]);
          descended = true;
          break;
        }
        total[0] += childWeight[0];
        total[1] = addCharacters(total[1], childWeight[1]);
        if (total[0] > MAX_WEIGHT) return [MAX_WEIGHT + 1, total[1]];
      }
      if (!descended) {
        stack.pop();
        totals.pop();
        this.known.set(container, total);
        if (!totals.length) return total;
        const parent = totals[totals.length - 1];
        parent[0] += total[0];
        parent[1] = addCharacters(parent[1], total[1]);
        if (parent[0] > MAX_WEIGHT) return [MAX_WEIGHT + 1, parent[1]];
      }
    }
  }

  // Refuse `sequence * count` before building it when the result would be too big.
  repetition(sequence, count) {
    const n = big(count);
    if (BigInt(size(sequence)) * (n > 0n ? n : 0n) > BigInt(MAX_SEQUENCE)) {
      throw tooCostly(`the result of * would be longer than ${MAX_SEQUENCE}`);
    }
    if ((Array.isArray(sequence) || sequence instanceof Tuple) && n > 0n) {
      const [elements, characters] = this.weight(sequence);
      if (1n + BigInt(elements - 1) * n > BigInt(MAX_WEIGHT)) {
        throw tooCostly(`the result of * would hold more than ${MAX_WEIGHT} elements`);
      }
      if (BigInt(characters) * n > BigInt(MAX_CHARACTERS)) {
        throw tooCostly(`the result of * would hold more than ${MAX_CHARACTERS} characters`);
      }
    }
  }

  // Refuse a value the expression built that is too big to keep working with.
  checkResult(result) {
    if (typeof result === 'bigint' && bitLength(result) > MAX_INT_BITS) {
      throw tooCostly(`the number exceeds ${MAX_INT_BITS} bits`);
    }
    const container = isContainer(result);
    if (container) {
      const [elements, characters] = this.weight(result);
      if (elements > MAX_WEIGHT) throw tooCostly(`the result holds more than ${MAX_WEIGHT} elements`);
      if (characters > MAX_CHARACTERS) throw tooCostly(`the result holds more than ${MAX_CHARACTERS} characters`);
    }
    if ((container || typeof result === 'string') && size(result) > MAX_SEQUENCE) {
      throw tooCostly(`the result is longer than ${MAX_SEQUENCE}`);
    }
  }
}

// Refuse an arithmetic operation before computing it when its result would be too big or too slow to get.
function checkBinary(op, left, right) {
  const bits = (v) => (isInt(v) ? bitLength(big(v)) : 0);
  const isSeq = (v) => typeof v === 'string' || Array.isArray(v) || v instanceof Tuple;
  if (op === '**') {
    if (isInt(left) && isInt(right) && big(right) > 0n) {
      const r = big(right);
      if (bits(left) > 1 && BigInt(bits(left) - 1) * r > BigInt(MAX_INT_BITS)) {
        throw tooCostly(`the result of ** would exceed ${MAX_INT_BITS} bits`);
      }
      const absLeft = big(left) < 0n ? -big(left) : big(left);
      if (r > BigInt(MAX_INT_BITS * 4) && absLeft > 1n) throw tooCostly('the exponent is too large');
    }
    if (typeof left === 'number' && (isInt(right) || typeof right === 'number')) {
      const absRight = typeof right === 'number' ? Math.abs(right) : (big(right) < 0n ? -big(right) : big(right));
      if (absRight > 1e6 && Math.abs(left) > 1) throw tooCostly('the exponent is too large');
    }
  }
  if (op === '<<' && isInt(right) && big(right) > BigInt(MAX_INT_BITS)) {
    throw tooCostly(`the result of << would exceed ${MAX_INT_BITS} bits`);
  }
  if (op === '*' && isInt(left) && isInt(right) && bits(left) + bits(right) > MAX_INT_BITS) {
    throw tooCostly(`the result of * would exceed ${MAX_INT_BITS} bits`);
  }
  if (op === '+' && isSeq(left) && isSeq(right) && size(left) + size(right) > MAX_SEQUENCE) {
    throw tooCostly(`the result of + would be longer than ${MAX_SEQUENCE}`);
  }
}

module.exports = {
  MAX_STEPS, MAX_SECONDS, MAX_INT_BITS, MAX_SEQUENCE, MAX_WEIGHT, MAX_CHARACTERS, ELEMENTS_PER_STEP,
  CHARACTERS_PER_STEP, Weigher, checkBinary, tooCostly,
};
