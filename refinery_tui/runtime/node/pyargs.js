// Argument checks of CPython's builtins and methods, with their messages (which changed between versions).
'use strict';

const { PYTHON, PyError, isInt, big } = require('./pyvalues');
const { SSIZE_MAX } = require('./pynumbers');

const typeError = (message) => new PyError('TypeError', message);

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
  if (n > SSIZE_MAX) return Number.MAX_SAFE_INTEGER;
  if (n < -SSIZE_MAX) return -Number.MAX_SAFE_INTEGER;
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

function noArgs(label, args, kwargs) {
  noKeywords(label, kwargs);
  if (args.length) throw typeError(`${label}() takes no arguments (${args.length} given)`);
}

module.exports = {
  noArgs, typeError, invalidKeyword, noKeywords, exactlyOne, atMost, bindPython, sliceIndex, adjustIndices,
};
