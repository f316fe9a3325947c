// The Node twin of runtime/engine.py (+ joins.py helpers, resources.py): what follows a block's result.
'use strict';

// Plain objects with the Python field names: Frame {id, index, count}, Context {execution_id, hops, frames},
// Invocation {id, block, input, backpack, context, attempt, parent, via}, Outcome {ok, output, backpack, error},
// Arrival {key, kind, target, slot, size, value, backpack, context, source, via}, Routing {outcome, dispatches,
// arrivals, taken, retry, failure, final}. The *ToJSON / *FromJSON functions give the same JSON as the Python
// to_json forms, so Python and Node functions hand invocations to each other.

const {
  compileTree, ExpressionError, ExpressionRuntimeError, ExpressionSyntaxError, truthy, fromJS,
} = require('./expressions');

const RESOURCE_TYPES = ['schedule', 'queue', 'topic', 'api_endpoint', 'api_response'];

function Frame(id, index, count) {
  return { id: String(id), index: Number(index), count: Number(count) };
}

const frameToJSON = (frame) => [frame.id, frame.index, frame.count];
const frameFromJSON = (data) => Frame(data[0], data[1], data[2]);

function Context(executionId, hops = 0, frames = []) {
  return { execution_id: String(executionId), hops: Number(hops), frames: frames.slice() };
}

function contextToJSON(context) {
  return { execution_id: context.execution_id, hops: context.hops, frames: context.frames.map(frameToJSON) };
}

function contextFromJSON(data) {
  return Context(data.execution_id, data.hops === undefined ? 0 : data.hops, (data.frames || []).map(frameFromJSON));
}

// Names the fan-out branch an invocation is in (empty outside any fan-out).
function contextScope(context) {
  return context.frames.map((frame) => `${frame.id}:${frame.index}`).join('/');
}

function Invocation(id, block, input, backpack, context, attempt = 0, parent = null, via = null) {
  return { id, block, input, backpack, context, attempt, parent, via };
}

function invocationToJSON(invocation) {
  return {
    id: invocation.id, block: invocation.block, input: invocation.input, backpack: invocation.backpack,
    context: contextToJSON(invocation.context), attempt: invocation.attempt, parent: invocation.parent,
    via: invocation.via,
  };
}

function invocationFromJSON(data) {
  return Invocation(data.id, data.block, data.input === undefined ? null : data.input, data.backpack || {},
    contextFromJSON(data.context), Number(data.attempt || 0), data.parent === undefined ? null : data.parent,
    data.via === undefined ? null : data.via);
}

const Outcome = {
  success: (output, backpack) => ({ ok: true, output, backpack, error: null }),
  failure: (type, message, traceback = '') => ({
    ok: false, output: null, backpack: null, error: { type, message, traceback },
  }),
};

function outcomeFromJSON(data) {
  const value = (key) => (data[key] === undefined ? null : data[key]);
  return { ok: Boolean(data.ok), output: value('output'), backpack: value('backpack'), error: value('error') };
}

function Routing(outcome) {
  return { outcome, dispatches: [], arrivals: [], taken: [], retry: null, failure: null, final: false };
}

function arrivalToJSON(arrival) {
  return { ...arrival, context: contextToJSON(arrival.context) };
}

function routingToJSON(routing) {
  return {
    outcome: routing.outcome,
    dispatches: routing.dispatches.map(invocationToJSON),
    arrivals: routing.arrivals.map(arrivalToJSON),
    taken: routing.taken.map(([index, target]) => [index, target]),
    retry: routing.retry ? invocationToJSON(routing.retry) : null,
    failure: routing.failure,
    final: routing.final,
  };
}

// Read access to a manifest (model/manifest.py), with `if` expression trees checked once.
class Manifest {
  constructor(data) {
    this.data = data;
    this.blocks = data.blocks;
    this.transitions = data.transitions;
    this.maxHops = Number(data.max_hops === undefined || data.max_hops === null ? 10000 : data.max_hops);
    this.onException = data.on_exception === undefined ? null : data.on_exception;
    this.fanInPairs = new Map(Object.entries(data.fan_in_pairs || {}).map(([k, v]) => [Number(k), Number(v)]));
    this.fanInsOf = new Map(Object.entries(data.fan_ins_of || {}).map(([k, v]) => [Number(k), v.map(Number)]));
    this.mergeSources = data.merge_sources || {};
    this.compiled = new Map();
  }

  outgoing(block) {
    return (this.blocks[block].outgoing || []).map((index) => this.transitions[index]);
  }

  expression(index) {
    if (!this.compiled.has(index)) {
      const transition = this.transitions[index];
      if (!Object.prototype.hasOwnProperty.call(transition, 'expression_tree')) {
        throw new Error(`the manifest has no expression_tree for the if transition #${index + 1} `
          + `(${transition.expression}): it was built by an older refinery-tui; package the project again`);
      }
      const tree = transition.expression_tree;
      const broken = { error: transition.expression_error || 'the expression does not compile' };
      this.compiled.set(index, tree === null ? broken : compileTree(tree, transition.expression));
    }
    const compiled = this.compiled.get(index);
    if (compiled.error !== undefined) throw new ExpressionSyntaxError(compiled.error);
    return compiled;
  }
}

const error = (type, message) => ({ type, message, traceback: '' });

function jsonTypeName(value) {
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (Array.isArray(value)) return 'list';
  return 'dict';
}

// Decide what follows an invocation. Never throws for user mistakes: they become failures.
function route(manifest, invocation, outcome, newId) {
  const block = manifest.blocks[invocation.block];
  if (!outcome.ok) {
    if (invocation.attempt < Number(block.retries || 0)) {
      const retry = Invocation(newId(), invocation.block, invocation.input, invocation.backpack, invocation.context,
        invocation.attempt + 1, invocation.parent, invocation.via);
      return { ...Routing(outcome), retry };
    }
    return routeFailure(manifest, invocation, outcome, newId);
  }

  const outgoing = manifest.outgoing(invocation.block);
  const backpack = outcome.backpack !== null && outcome.backpack !== undefined ? outcome.backpack : invocation.backpack;
  const firedIf = new Set();
  let values = null;
  for (const transition of outgoing) {
    if (transition.type !== 'if') continue;
    try {
      const compiled = manifest.expression(transition.index);
      if (values === null) values = [fromJS(outcome.output), fromJS(invocation.input), fromJS(backpack)];
      if (truthy(compiled.evaluate(...values))) firedIf.add(transition.index);
    } catch (caught) {
      // data nested too deeply for the JS stack fails like Python's RecursionError does
      const exc = caught instanceof RangeError ? new ExpressionRuntimeError('expression too costly: the expression recursed too deeply')
        : caught;
      if (!(exc instanceof ExpressionError)) throw exc;
      const failed = { ok: false, output: null, backpack: null, error: error('ExpressionError',
        `the if expression of transition #${transition.index + 1} (${transition.expression}) failed: ${exc.message}`) };
      return routeFailure(manifest, invocation, failed, newId);
    }
  }
  if (outgoing.some((t) => t.type === 'fan-out') && !Array.isArray(outcome.output)) {
    const output = outcome.output;
    const failed = { ok: false, output: null, backpack: null, error: error('FanOutError',
      `a fan-out needs a list, but '${invocation.block}' returned `
      + `${output !== null && output !== undefined ? jsonTypeName(output) : 'null'}`) };
    return routeFailure(manifest, invocation, failed, newId);
  }

  const routing = Routing(outcome);
  const hops = invocation.context.hops + 1;
  const context = Context(invocation.context.execution_id, hops, invocation.context.frames);

  const dispatch = (transition, value, ctx = context) => {
    routing.dispatches.push(Invocation(newId(), transition.to, value, { ...backpack }, ctx, 0, invocation.id,
      transition.index));
    routing.taken.push([transition.index, transition.to]);
  };

  for (const transition of outgoing) {
    const kind = transition.type;
    if (kind === 'then' || (kind === 'if' && firedIf.has(transition.index)) || (kind === 'else' && !firedIf.size)) {
      dispatch(transition, outcome.output);
    } else if (kind === 'fan-out') {
      const frameId = `${invocation.id}.${transition.index}`;
      const items = outcome.output;
      items.forEach((item, index) => {
        const frames = [...invocation.context.frames, Frame(frameId, index, items.length)];
        dispatch(transition, item, Context(context.execution_id, hops, frames));
      });
      if (!items.length) {
        routing.taken.push([transition.index, transition.to]);
        for (const target of fanInTargets(manifest, transition.index)) {
          routing.dispatches.push(Invocation(newId(), target, [], { ...backpack }, context, 0, invocation.id,
            transition.index));
        }
      }
    } else if (kind === 'fan-in') {
      const arrival = fanInArrival(manifest, invocation, transition, outcome.output, backpack, hops);
      if (typeof arrival === 'string') {
        const failed = { ok: false, output: null, backpack: null, error: error('FanInError', arrival) };
        return routeFailure(manifest, invocation, failed, newId, false);
      }
      routing.arrivals.push(arrival);
      routing.taken.push([transition.index, transition.to]);
    } else if (kind === 'merge') {
      const sources = Object.prototype.hasOwnProperty.call(manifest.mergeSources, transition.to)
        ? manifest.mergeSources[transition.to] : [transition.index];
      const slot = sources.indexOf(transition.index);
      if (slot < 0) throw new Error(`merge transition #${transition.index + 1} is not among the merge sources`);
      routing.arrivals.push({
        key: `merge:${contextScope(invocation.context)}>${transition.to}`, kind: 'merge', target: transition.to,
        slot, size: sources.length, value: outcome.output, backpack: { ...backpack }, context,
        source: invocation.id, via: transition.index,
      });
      routing.taken.push([transition.index, transition.to]);
    }
  }
  if ((routing.dispatches.length || routing.arrivals.length) && hops > manifest.maxHops) {
    return {
      ...Routing(outcome),
      failure: {
        block: invocation.block, invocation: invocation.id,
        error: error('MaxHopsExceeded', `the execution made more than ${manifest.maxHops} hops `
          + `(max_hops); stopped after '${invocation.block}'`),
        frames: invocation.context.frames.map(frameToJSON),
      },
    };
  }
  routing.final = !routing.dispatches.length && !routing.arrivals.length;
  return routing;
}

function fanInTargets(manifest, fanOutIndex) {
  const targets = [];
  for (const fanIn of manifest.fanInsOf.get(fanOutIndex) || []) {
    const target = manifest.transitions[fanIn].to;
    if (!targets.includes(target)) targets.push(target);
  }
  return targets;
}

function fanInArrival(manifest, invocation, transition, value, backpack, hops) {
  const fanOut = manifest.fanInPairs.get(transition.index);
  const { frames } = invocation.context;
  let position = null;
  if (fanOut !== undefined) {
    const suffix = `.${fanOut}`;
    for (let i = frames.length - 1; i >= 0; i -= 1) {
      if (frames[i].id.endsWith(suffix)) {
        position = i;
        break;
      }
    }
  }
  if (position === null) {
    return `'${invocation.block}' reached the fan-in into '${transition.to}' outside the fan-out it belongs to`;
  }
  const frame = frames[position];
  const outer = Context(invocation.context.execution_id, hops, frames.slice(0, position));
  return {
    key: `fan-in:${contextScope(outer)}|${frame.id}>${transition.to}`, kind: 'fan-in', target: transition.to,
    slot: frame.index, size: frame.count, value, backpack: { ...backpack }, context: outer, source: invocation.id,
    via: transition.index,
  };
}

function routeFailure(manifest, invocation, outcome, newId, catchable = true) {
  const block = manifest.blocks[invocation.block];
  const routing = Routing(outcome);
  const failure = outcome.error || error('Error', 'unknown error');
  const payload = { error: failure, input: invocation.input };
  const context = Context(invocation.context.execution_id, invocation.context.hops + 1, invocation.context.frames);
  const targets = catchable ? manifest.outgoing(invocation.block).filter((t) => t.type === 'exception') : [];
  if (targets.length) {
    for (const transition of targets) {
      routing.dispatches.push(Invocation(newId(), transition.to, payload, { ...invocation.backpack }, context, 0,
        invocation.id, transition.index));
      routing.taken.push([transition.index, transition.to]);
    }
  } else if (catchable && block.handler_catches && manifest.onException) {
    routing.dispatches.push(Invocation(newId(), manifest.onException, payload, { ...invocation.backpack }, context,
      0, invocation.id, null));
    routing.taken.push([-1, manifest.onException]);
  } else {
    routing.failure = {
      block: invocation.block, invocation: invocation.id, error: failure,
      frames: invocation.context.frames.map(frameToJSON),
    };
  }
  return routing;
}

// Whether a value is JSON (as json.dumps(allow_nan=False) sees it).
function isJSON(value, depth = 0) {
  if (depth > 900) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((item) => isJSON(item, depth + 1));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.values(value).every((item) => isJSON(item, depth + 1));
  }
  return false;
}

// ---- joins.py: backpacks of a completed join, and the join's input in slot order

// Dict union in order: later branches (item order, declaration order) win.
function mergeBackpacks(backpacks) {
  const merged = {};
  for (const backpack of backpacks) Object.assign(merged, backpack || {});
  return merged;
}

// state: {size, slots: {SLOT: [value, backpack, source]}} (an object or a Map) -> [values, backpack, sources].
function joinInput(state) {
  const get = (slot) => (state.slots instanceof Map ? state.slots.get(slot) : state.slots[slot]);
  const ordered = [];
  for (let slot = 0; slot < state.size; slot += 1) ordered.push(get(slot));
  return [ordered.map(([value]) => value), mergeBackpacks(ordered.map(([, backpack]) => backpack)),
    ordered.map(([, , source]) => source)];
}

// ---- resources.py: what resource blocks do to the value passing through

const REQUEST_KEYS = ['body', 'headers', 'rawPath', 'requestContext', 'queryStringParameters'];
const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const setDefault = (object, key, value) => {
  if (!Object.prototype.hasOwnProperty.call(object, key)) object[key] = value;
};

// The request as API Gateway's HTTP API (payload 2.0) gives it; a JSON body with a JSON content type is parsed.
function apiRequest(block, value) {
  const looksLikeRequest = isObject(value) && REQUEST_KEYS.some((key) => key in value) && 'body' in value;
  const request = looksLikeRequest ? { ...value } : { body: value };
  const method = (block.method || 'GET').toUpperCase();
  setDefault(request, 'headers', { 'content-type': 'application/json' });
  setDefault(request, 'queryStringParameters', {});
  setDefault(request, 'rawPath', block.path || '/');
  setDefault(request, 'requestContext', { http: { method, path: request.rawPath } });
  const headers = {};
  for (const [key, header] of Object.entries(request.headers || {})) headers[String(key).toLowerCase()] = header;
  const contentType = headers['content-type'] === undefined ? '' : headers['content-type'];
  if (typeof request.body === 'string' && String(contentType).includes('json')) {
    try {
      request.body = JSON.parse(request.body);
    } catch (exc) {
      // not JSON after all: the body stays text
    }
  }
  return request;
}

// The HTTP reply: a dict with statusCode is used as is, anything else becomes a 200 JSON body.
function apiReply(value) {
  if (isObject(value) && 'statusCode' in value) return value;
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: value };
}

// A schedule starts an execution with its configured input unless one is given.
function scheduleInput(block, value) {
  if (value === null || value === undefined) {
    const configured = block.input;
    return configured === null || configured === undefined ? {} : configured;
  }
  return value;
}

module.exports = {
  RESOURCE_TYPES, Frame, frameToJSON, frameFromJSON, Context, contextToJSON, contextFromJSON, contextScope,
  Invocation, invocationToJSON, invocationFromJSON, Outcome, outcomeFromJSON, Routing, routingToJSON,
  arrivalToJSON, Manifest, route, isJSON, mergeBackpacks, joinInput, apiRequest, apiReply, scheduleInput,
  merge_backpacks: mergeBackpacks, join_input: joinInput, api_request: apiRequest, api_reply: apiReply,
  schedule_input: scheduleInput, is_json: isJSON,
};
