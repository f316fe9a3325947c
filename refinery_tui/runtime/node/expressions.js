// The Node twin of runtime/expressions.py: interprets the checked tree of an `if` expression with Python semantics.
'use strict';

// The tree comes from expression_tree() in runtime/expressions.py (its docstring describes the nodes); the
// manifest carries it for every `if` transition. Work is bounded as in Python: steps, value weights, sizes of
// results and a time limit, so a hostile expression cannot hang a Lambda.

const V = require('./pyvalues');
const N = require('./pynumbers');
const { BUILTINS, METHODS, sliceIndex } = require('./pybuiltins');
const {
  MAX_STEPS, MAX_SECONDS, MAX_INT_BITS, MAX_SEQUENCE, MAX_WEIGHT, MAX_CHARACTERS, ELEMENTS_PER_STEP,
  CHARACTERS_PER_STEP, Weigher, checkBinary, tooCostly,
} = require('./expression_cost');
const { SliceKey, shortRepr, boundedMessage } = require('./expression_repr');

const {
  PYTHON, PyError, ExpressionError, ExpressionSyntaxError, ExpressionRuntimeError, Tuple, Dict, PySet, Builtin,
  typeName, isInt, big, truthy, eq, is, order, contains, iterate, size,
} = V;

const VARIABLES = ['return_data', 'block_input', 'backpack'];

const UNARY_NAMES = { '-': 'USub', '+': 'UAdd', '~': 'Invert' };
const BINARY = new Set(['+', '-', '*', '/', '//', '%', '**', '<<', '>>', '&', '|', '^']);
const COMPARE = new Set(['==', '!=', '<', '<=', '>', '>=', 'in', 'not in', 'is', 'is not']);

const malformed = (what) => new ExpressionSyntaxError(`malformed expression tree: ${what}`);

function checkList(value, what) {
  if (!Array.isArray(value)) throw malformed(`${what} must be a list`);
  return value;
}

// Validate a tree from JSON once, turning number constants into values.
function prepare(node) {
  if (!node || typeof node !== 'object' || Array.isArray(node)) throw malformed('a node must be an object');
  const out = { ...node };
  const each = (key) => { out[key] = checkList(node[key], key).map(prepare); };
  const optional = (key) => { out[key] = node[key] === null || node[key] === undefined ? null : prepare(node[key]); };
  const generators = () => {
    const target = (t) => {
      if (typeof t === 'string') return t;
      return checkList(t, 'target').map(target);
    };
    out.generators = checkList(node.generators, 'generators').map((g) => ({
      target: target(g.target), iter: prepare(g.iter), ifs: checkList(g.ifs, 'ifs').map(prepare),
    }));
  };
  switch (node.op) {
    case 'const':
      if (!(node.value === null || ['string', 'boolean'].includes(typeof node.value))) throw malformed('const');
      break;
    case 'int':
      out.value = BigInt(String(node.value));
      break;
    case 'float': {
      const text = String(node.value);
      out.value = text === 'inf' ? Infinity : text === '-inf' ? -Infinity : text === 'nan' ? NaN : Number(text);
      if (Number.isNaN(out.value) && text !== 'nan') throw malformed(`float ${text}`);
      break;
    }
    case 'name':
      if (typeof node.id !== 'string') throw malformed('name');
      break;
    case 'and': case 'or': each('values'); break;
    case 'unary':
      if (!['not', '-', '+', '~'].includes(node.operator)) throw malformed(`unary ${node.operator}`);
      out.operand = prepare(node.operand);
      break;
    case 'binary':
      if (!BINARY.has(node.operator)) throw malformed(`operator ${node.operator}`);
      out.left = prepare(node.left);
      out.right = prepare(node.right);
      break;
    case 'compare':
      out.left = prepare(node.left);
      each('comparators');
      if (checkList(node.ops, 'ops').some((op) => !COMPARE.has(op)) || node.ops.length !== out.comparators.length) {
        throw malformed('compare');
      }
      // `x is x` (the same name or the same constant lookups in it): the same object in Python, whatever it is.
      out.samePath = node.ops.map((op, i) => {
        const left = pathKey(i === 0 ? node.left : node.comparators[i - 1]);
        return left !== null && left === pathKey(node.comparators[i]);
      });
      break;
    case 'if':
      out.test = prepare(node.test);
      out.body = prepare(node.body);
      out.orelse = prepare(node.orelse);
      break;
    case 'call':
    case 'method':
      if (node.op === 'call' && !Object.prototype.hasOwnProperty.call(BUILTINS, node.func)) {
        throw malformed(`function ${node.func}`);
      }
      if (node.op === 'method') out.object = prepare(node.object);
      each('args');
      out.keywords = checkList(node.keywords, 'keywords').map(([name, value]) => [String(name), prepare(value)]);
      break;
    case 'subscript':
      out.value = prepare(node.value);
      out.index = prepare(node.index);
      break;
    case 'slice':
      out.value = prepare(node.value);
      optional('lower');
      optional('upper');
      optional('step');
      break;
    case 'list': case 'tuple': case 'set': each('items'); break;
    case 'dict':
      each('keys');
      each('values');
      if (out.keys.length !== out.values.length) throw malformed('dict');
      break;
    case 'listcomp': case 'setcomp':
      out.element = prepare(node.element);
      generators();
      break;
    case 'dictcomp':
      out.key = prepare(node.key);
      out.value = prepare(node.value);
      generators();
      break;
    case 'error':
      out.message = String(node.message);
      break;
    default:
      throw malformed(`unknown node ${JSON.stringify(node.op)}`);
  }
  return out;
}

// A name, or constant subscripts of one (return_data['a'][0]): evaluating it twice gives the same object.
function pathKey(node) {
  if (node && node.op === 'name') return `n:${node.id}`;
  if (node && node.op === 'subscript' && ['const', 'int'].includes(node.index.op)) {
    const inner = pathKey(node.value);
    return inner === null ? null : `${inner}[${node.index.op}:${JSON.stringify(String(node.index.value))}]`;
  }
  return null;
}

function getItem(container, index) {
  if (container instanceof Dict) {
    const entry = container.entry(index);
    if (!entry) throw new PyError('KeyError', shortRepr(index));
    return entry[1];
  }
  const kind = typeName(container);
  if (!isInt(index)) {
    if (typeof container === 'string') {
      throw new PyError('TypeError', `string indices must be integers, not '${typeName(index)}'`);
    }
    throw new PyError('TypeError', `${kind} indices must be integers or slices, not ${typeName(index)}`);
  }
  let i = big(index);
  if (i > N.SSIZE_MAX || i < -N.SSIZE_MAX - 1n) {
    throw new PyError('IndexError', "cannot fit 'int' into an index-sized integer");
  }
  const items = typeof container === 'string' ? V.textView(container)
    : container instanceof Tuple ? container.items : container;
  if (i < 0n) i += BigInt(items.length);
  if (i < 0n || i >= BigInt(items.length)) {
    throw new PyError('IndexError', `${kind === 'str' ? 'string' : kind} index out of range`);
  }
  return typeof container === 'string' ? items.at(Number(i)) : items[Number(i)];
}

function sliceOf(container, lower, upper, stepValue) {
  if (container instanceof Dict) {
    if (PYTHON.minor < 12) throw new PyError('TypeError', "unhashable type: 'slice'");
    for (const part of [lower, upper, stepValue]) V.hashKey(part);
    throw new PyError('KeyError', shortRepr(new SliceKey(lower, upper, stepValue)));
  }
  let step = 1;
  if (stepValue !== null) {
    step = sliceIndex(stepValue);
    if (step === 0) throw new PyError('ValueError', 'slice step cannot be zero');
  }
  const MAX = Number.MAX_SAFE_INTEGER;
  let start = lower === null ? (step < 0 ? MAX : 0) : sliceIndex(lower);
  let stop = upper === null ? (step < 0 ? -MAX : MAX) : sliceIndex(upper);
  const text = typeof container === 'string' ? V.textView(container) : null;
  const items = text || (container instanceof Tuple ? container.items : container);
  const length = items.length;
  const adjust = (value) => {
    if (value < 0) {
      const moved = value + length;
      return moved < 0 ? (step < 0 ? -1 : 0) : moved;
    }
    return value >= length ? (step < 0 ? length - 1 : length) : value;
  };
  start = adjust(start);
  stop = adjust(stop);
  if (text && step === 1) return stop > start ? text.slice(start, stop) : '';
  const at = text ? text.at : (k) => items[k];
  let out;
  if (step === 1) out = stop > start ? items.slice(start, stop) : [];
  else {
    out = [];
    if (step > 0) for (let i = start; i < stop; i += step) out.push(at(i));
    else for (let i = start; i > stop; i += step) out.push(at(i));
  }
  if (text) return out.join('');
  return container instanceof Tuple ? new Tuple(out) : out;
}

function compare(op, left, right) {
  switch (op) {
    case '==': return eq(left, right);
    case '!=': return !eq(left, right);
    case 'in': return contains(right, left);
    case 'not in': return !contains(right, left);
    case 'is': return is(left, right);
    case 'is not': return !is(left, right);
    default: return order(op, left, right);
  }
}

const isData = (v) => !(v instanceof Builtin);

function cpuSeconds() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

class Interpreter {
  constructor(variables) {
    this.scopes = [variables];
    this.weigher = new Weigher();
    this.steps = 0;
    this.nextClockCheck = 1024;
    this.deadline = cpuSeconds() + MAX_SECONDS; // CPU time: a busy machine does not make it shorter
  }

  run(node) {
    try {
      return this.eval(node);
    } catch (error) {
      throw translate(error);
    }
  }

  tick(amount = 1) {
    this.steps += amount;
    if (this.steps > MAX_STEPS) {
      throw tooCostly(`the expression did more than ${MAX_STEPS} steps of work`);
    }
    if (this.steps >= this.nextClockCheck) {
      this.nextClockCheck = this.steps + 1024;
      if (cpuSeconds() > this.deadline) {
        throw tooCostly(`the expression used more than ${MAX_SECONDS} s of CPU time`);
      }
    }
  }

  // Charge the work of going through values (nested and repeated parts counted); refuse too big ones.
  weigh(...values) {
    let elements = 0;
    let characters = 0;
    for (const value of values) {
      const [valueElements, valueCharacters] = this.weigher.weight(value);
      elements += valueElements;
      characters += valueCharacters;
    }
    if (elements > MAX_WEIGHT) throw tooCostly(`the values to work on hold more than ${MAX_WEIGHT} elements`);
    if (characters > MAX_CHARACTERS) {
      throw tooCostly(`the values to work on hold more than ${MAX_CHARACTERS} characters`);
    }
    this.tick(Math.floor(elements / ELEMENTS_PER_STEP) + Math.floor(characters / CHARACTERS_PER_STEP));
  }

  // Charge for reading texts by position (code points are counted to do it).
  readTexts(...values) {
    for (const value of values) {
      if (typeof value === 'string') this.tick(Math.floor(V.strLen(value) / CHARACTERS_PER_STEP));
    }
  }

  // Charge for a value the expression built and refuse it when it is too big to work with.
  built(result) {
    this.tick(Math.floor(size(result) / ELEMENTS_PER_STEP));
    this.weigher.checkResult(result);
    return result;
  }

  lookup(name) {
    for (let i = this.scopes.length - 1; i >= 0; i -= 1) {
      if (Object.prototype.hasOwnProperty.call(this.scopes[i], name)) return this.scopes[i][name];
    }
    if (Object.prototype.hasOwnProperty.call(BUILTINS, name)) return BUILTINS[name];
    throw new ExpressionRuntimeError(`unknown name '${name}'`);
  }

  eval(node) {
    this.tick();
    switch (node.op) {
      case 'const': case 'int': case 'float': return node.value;
      case 'name': return this.lookup(node.id);
      case 'and': case 'or': {
        let result = null;
        for (const valueNode of node.values) {
          result = this.eval(valueNode);
          if (node.op === 'and' && !truthy(result)) return result;
          if (node.op === 'or' && truthy(result)) return result;
        }
        return result;
      }
      case 'unary': {
        const operand = this.eval(node.operand);
        if (node.operator === 'not') return !truthy(operand);
        if (!V.isNumber(operand)) {
          throw new ExpressionRuntimeError(`${UNARY_NAMES[node.operator]} needs a number, not ${typeName(operand)}`);
        }
        return N.unary(node.operator, operand);
      }
      case 'binary': return this.binary(node);
      case 'compare': {
        let left = this.eval(node.left);
        for (let i = 0; i < node.ops.length; i += 1) {
          const right = this.eval(node.comparators[i]);
          this.weigh(left, right);
          const op = node.ops[i];
          if (node.samePath[i] && (op === 'is' || op === 'is not')) {
            if (op === 'is not') return false;
          } else if (!compare(op, left, right)) return false;
          left = right;
        }
        return true;
      }
      case 'if': return truthy(this.eval(node.test)) ? this.eval(node.body) : this.eval(node.orelse);
      case 'subscript': case 'slice': return this.subscript(node);
      case 'list': return node.items.map((item) => this.eval(item));
      case 'tuple': return new Tuple(node.items.map((item) => this.eval(item)));
      case 'set': {
        const result = new PySet();
        for (const item of node.items) result.add(this.eval(item));
        return result;
      }
      case 'dict': {
        const result = new Dict();
        node.keys.forEach((keyNode, i) => {
          const value = this.eval(node.values[i]); // `result[key] = value` in Python evaluates the value first
          result.set(this.eval(keyNode), value);
        });
        return result;
      }
      case 'call': case 'method': return this.call(node);
      case 'listcomp': {
        const result = [];
        this.comprehension(node.generators, () => result.push(this.eval(node.element)));
        this.weigher.checkResult(result);
        return result;
      }
      case 'setcomp': {
        const result = new PySet();
        this.comprehension(node.generators, () => result.add(this.eval(node.element)));
        this.weigher.checkResult(result);
        return result;
      }
      case 'dictcomp': {
        const result = new Dict();
        this.comprehension(node.generators, () => {
          const key = this.eval(node.key);
          result.set(key, this.eval(node.value));
        });
        this.weigher.checkResult(result);
        return result;
      }
      case 'error': throw new ExpressionRuntimeError(node.message);
      default: throw new ExpressionRuntimeError(`${node.op} is not allowed`);
    }
  }

  binary(node) {
    const left = this.eval(node.left);
    const right = this.eval(node.right);
    const op = node.operator;
    if (op === '%' && typeof left === 'string') throw new ExpressionRuntimeError('% formatting of text is not allowed');
    checkBinary(op, left, right);
    const isSeq = (v) => typeof v === 'string' || Array.isArray(v) || v instanceof Tuple;
    if (op === '*') {
      for (const [sequence, count] of [[left, right], [right, left]]) {
        if (isSeq(sequence) && isInt(count)) this.weigher.repetition(sequence, count);
      }
    } else if (isSeq(left) || isSeq(right)) {
      this.weigh(left, right);
    }
    return this.built(N.binary(op, left, right));
  }

  subscript(node) {
    const container = this.eval(node.value);
    if (!(container instanceof Dict || Array.isArray(container) || container instanceof Tuple
      || typeof container === 'string')) {
      throw new ExpressionRuntimeError(`${typeName(container)} cannot be indexed`);
    }
    if (node.op === 'slice') {
      const parts = [node.lower, node.upper, node.step].map((part) => (part === null ? null : this.eval(part)));
      this.readTexts(container);
      return this.built(sliceOf(container, ...parts));
    }
    const index = this.eval(node.index);
    this.readTexts(container, index);
    return getItem(container, index);
  }

  call(node) {
    const args = node.args.map((arg) => this.eval(arg));
    const kwargs = node.keywords.map(([name, valueNode]) => [name, this.eval(valueNode)]);
    let result;
    if (node.op === 'method') {
      const target = this.eval(node.object);
      const table = METHODS[typeName(target)];
      if (!table || !Object.prototype.hasOwnProperty.call(table, node.name)) {
        throw new ExpressionRuntimeError(`${typeName(target)} has no allowed method '${node.name}'`);
      }
      this.weigh(target, ...args);
      checkArguments(args);
      result = table[node.name](target, args, kwargs);
    } else {
      if (node.func !== 'len') this.weigh(...args, ...kwargs.map(([, value]) => value));
      else this.readTexts(...args);
      if (node.func === 'sum' && (args.length > 1 || kwargs.some(([name]) => name === 'start'))) {
        const start = args.length > 1 ? args[1] : kwargs.find(([name]) => name === 'start')[1];
        if (!(typeof start === 'bigint' || typeof start === 'number')) {
          throw new ExpressionRuntimeError('sum() adds numbers only: its start must be a number');
        }
      }
      checkArguments(args);
      result = BUILTINS[node.func].fn(args, kwargs);
    }
    return this.built(result);
  }

  comprehension(generators, emit) {
    const loop = (index) => {
      if (index === generators.length) {
        emit();
        return;
      }
      const generator = generators[index];
      const iterable = this.eval(generator.iter);
      if (!(Array.isArray(iterable) || iterable instanceof Tuple || typeof iterable === 'string'
        || iterable instanceof Dict || iterable instanceof PySet)) {
        throw new ExpressionRuntimeError(`cannot loop over ${typeName(iterable)}`);
      }
      for (const item of iterate(iterable)) {
        this.tick();
        this.bind(generator.target, item);
        if (generator.ifs.every((condition) => truthy(this.eval(condition)))) loop(index + 1);
      }
    };
    this.scopes.push(Object.create(null));
    try {
      loop(0);
    } finally {
      this.scopes.pop();
    }
  }

  bind(target, value) {
    if (typeof target === 'string') {
      this.scopes[this.scopes.length - 1][target] = value;
      return;
    }
    const items = iterate(value);
    if (items.length !== target.length) throw new ExpressionRuntimeError('cannot unpack: wrong number of values');
    target.forEach((element, i) => this.bind(element, items[i]));
  }
}

function checkArguments(args) {
  for (const arg of args) {
    if (!isData(arg)) throw new ExpressionRuntimeError(`${typeName(arg)} cannot be passed to a function`);
  }
}

// A Python exception (or a JS limit) as the ExpressionRuntimeError the Python evaluator would raise.
function translate(error) {
  if (error instanceof ExpressionError) return error;
  if (error instanceof PyError) {
    switch (error.pyType) {
      case 'KeyError': return new ExpressionRuntimeError(`key ${error.message} not found`);
      case 'IndexError': return new ExpressionRuntimeError(boundedMessage(`index out of range: ${error.message}`));
      case 'ZeroDivisionError': return new ExpressionRuntimeError('division by zero');
      default: return new ExpressionRuntimeError(boundedMessage(`${error.pyType}: ${error.message}`));
    }
  }
  if (error instanceof RangeError) {
    if (/call stack/i.test(error.message)) return tooCostly('the expression recursed too deeply');
    return tooCostly('the expression used too much memory');
  }
  return error;
}

// A checked tree, ready to evaluate any number of times (the twin of CompiledExpression).
class CompiledExpression {
  constructor(tree, source = null) {
    this.source = source;
    this.tree = prepare(tree);
  }

  // Arguments are Python values (see pyvalues.js: fromJS or parseJSON make them); the result is one too.
  evaluate(returnData = null, blockInput = null, backpack = null) {
    const variables = Object.create(null);
    variables.return_data = returnData;
    variables.block_input = blockInput;
    variables.backpack = backpack;
    return new Interpreter(variables).run(this.tree);
  }

  // The same over plain JS data as JSON.parse gives it (integral numbers are ints, others floats).
  evaluateData(returnData = null, blockInput = null, backpack = null) {
    return this.evaluate(V.fromJS(returnData), V.fromJS(blockInput), V.fromJS(backpack));
  }
}

function compileTree(tree, source = null) {
  return new CompiledExpression(tree, source);
}

// Evaluate a tree once over plain JSON data.
function evaluateTree(tree, returnData = null, blockInput = null, backpack = null) {
  return compileTree(tree).evaluateData(returnData, blockInput, backpack);
}

// Which CPython 3.x to copy where versions differ (some messages, sum() of floats, sort, reverse=, dict slices):
// 12 by default, as the python3.12 Lambda runtime.
function setPythonVersion(minor) {
  PYTHON.minor = Number(minor);
}

module.exports = {
  VARIABLES, MAX_STEPS, MAX_SECONDS, MAX_INT_BITS, MAX_SEQUENCE, MAX_WEIGHT, MAX_CHARACTERS, ExpressionError,
  ExpressionSyntaxError, ExpressionRuntimeError, CompiledExpression, compileTree, evaluateTree, truthy,
  setPythonVersion, PYTHON, fromJS: V.fromJS, parseJSON: V.parseJSON, repr: V.repr, str: V.str, values: V,
};
