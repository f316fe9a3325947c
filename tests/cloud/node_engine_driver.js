// Test driver for the Node transition engine: each line on stdin is one JSON batch, answered by one JSON line.
'use strict';

// {"mode": "expressions", "python_minor": 11, "cases": [{"tree": TREE, "data": JSON_TEXT}]} evaluates each tree
// over the data ({"return_data", "block_input", "backpack"}, read exactly as Python's json.loads reads it) and
// gives {"ok": TYPED} or {"error": {"name", "message"}}. TYPED spells Python types out: {"int": "7"},
// {"float": "1.0"}, {"tuple": [...]}, {"dict": [[k, v], ...]}, {"set": [sorted JSON texts]}, {"builtin": name}.
// {"mode": "route", "cases": [{"manifest", "invocation", "outcome", "ids"}]} runs engine.route() with ids
// id-N from a counter starting at `ids` and gives {"ok": routing as JSON} or {"error": ...}.
// {"mode": "calls", "cases": [{"fn": NAME, "args": [...]}]} calls an export of engine.js.
// {"mode": "measured", "data": JSON_TEXT, "cases": [{"tree": TREE}]} evaluates each tree over the one data set,
// collecting garbage before each, and gives {"baseline_rss", "peak_rss", "results": [{"ok": {"type", "repr"}} or
// {"error": ...}, each with "seconds", "cpu_seconds" and "peak_rss" after it]} (peak RSS in bytes).

const path = require('path');

const NODE = path.resolve(__dirname, '../../refinery_tui/runtime/node');
const expressions = require(path.join(NODE, 'expressions.js'));
const engine = require(path.join(NODE, 'engine.js'));
const { shortRepr } = require(path.join(NODE, 'expression_repr.js'));

const V = expressions.values;

function typed(value) {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'boolean': case 'string': return value;
    case 'bigint': return { int: value.toString() };
    case 'number': return { float: V.reprFloat(value) };
    default:
  }
  if (Array.isArray(value)) return value.map(typed);
  if (value instanceof V.Tuple) return { tuple: value.items.map(typed) };
  if (value instanceof V.Dict) return { dict: value.entries().map(([k, v]) => [typed(k), typed(v)]) };
  if (value instanceof V.PySet) return { set: value.values().map((v) => JSON.stringify(typed(v))).sort() };
  if (value instanceof V.Builtin) return { builtin: value.name };
  return { unknown: String(value) };
}

function failure(error) {
  return { error: { name: error.name || 'Error', message: String(error.message) } };
}

function runExpressions(batch) {
  if (batch.python_minor) expressions.setPythonVersion(batch.python_minor);
  return batch.cases.map((testCase) => {
    try {
      const data = V.parseJSON(testCase.data);
      const get = (name) => (data.entry(name) || [null, null])[1];
      const compiled = expressions.compileTree(testCase.tree);
      return { ok: typed(compiled.evaluate(get('return_data'), get('block_input'), get('backpack'))) };
    } catch (error) {
      return failure(error);
    }
  });
}

function runRoutes(batch) {
  if (batch.python_minor) expressions.setPythonVersion(batch.python_minor);
  const manifests = new Map();
  return batch.cases.map((testCase) => {
    try {
      const key = JSON.stringify(testCase.manifest);
      if (!manifests.has(key)) manifests.set(key, new engine.Manifest(testCase.manifest));
      let next = testCase.ids || 0;
      const newId = () => `id-${next++}`;
      const invocation = engine.invocationFromJSON(testCase.invocation);
      const outcome = engine.outcomeFromJSON(testCase.outcome);
      return { ok: engine.routingToJSON(engine.route(manifests.get(key), invocation, outcome, newId)) };
    } catch (error) {
      return failure(error);
    }
  });
}

function runCalls(batch) {
  return batch.cases.map((testCase) => {
    try {
      return { ok: engine[testCase.fn](...testCase.args) };
    } catch (error) {
      return failure(error);
    }
  });
}

const SUMMARY_REPR = 1000;

function runMeasured(batch) {
  if (batch.python_minor) expressions.setPythonVersion(batch.python_minor);
  const data = V.parseJSON(batch.data);
  const get = (name) => (data.entry(name) || [null, null])[1];
  const peakRss = () => process.resourceUsage().maxRSS * 1024;
  if (global.gc) global.gc();
  const baseline = peakRss();
  const results = batch.cases.map((testCase) => {
    if (global.gc) global.gc();
    const started = process.hrtime.bigint();
    const startedCpu = process.cpuUsage();
    let result;
    try {
      const value = expressions.compileTree(testCase.tree).evaluate(get('return_data'), get('block_input'),
        get('backpack'));
      result = { ok: { type: V.typeName(value), repr: shortRepr(value, SUMMARY_REPR) } };
    } catch (error) {
      result = failure(error);
    }
    result.seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(startedCpu);
    result.cpu_seconds = (cpu.user + cpu.system) / 1e6;
    result.peak_rss = peakRss();
    return result;
  });
  return { baseline_rss: baseline, peak_rss: peakRss(), results };
}

const MODES = {
  expressions: runExpressions, route: runRoutes, calls: runCalls, measured: runMeasured,
};

const lines = require('readline').createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  const batch = JSON.parse(line);
  process.stdout.write(`${JSON.stringify(MODES[batch.mode](batch))}\n`);
});
