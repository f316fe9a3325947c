// The deployed Node entry point (twin of handler.py): unwrap the event, run the block once per id, route, dispatch.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { performance } = require('perf_hooks');

const aws = require('./aws');
const engine = require('../../runtime/node/engine');
const blockload = require('../../runtime/node/blockload');
const logline = require('./logline');
const { Store, DuplicateSlot } = require('./store');
const { dumps, truthy, or, toInt } = require('../../runtime/node/jsontext');
const V = require('../../runtime/node/pyvalues');

const ROOT = process.env.LAMBDA_TASK_ROOT || path.dirname(__dirname);
const API_WAIT_S = 28.0;

const DATA = JSON.parse(fs.readFileSync(path.join(ROOT, 'manifest.json'), 'utf8'));
const MANIFEST = new engine.Manifest(DATA);
const SELF = DATA.self;
const queueUrls = new Map();

const nowS = () => Date.now() / 1000;
const sha1 = (text) => crypto.createHash('sha1').update(text, 'utf8').digest('hex');
const isDict = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const isOne = (value) => value === 1 || value === true; // `value == 1` in Python
const get = (object, key, fallback = null) => (isDict(object) && key in object ? object[key] : fallback);
const jsonOrText = (text) => { try { return JSON.parse(text); } catch (error) { return text; } };
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// Nanoseconds since the epoch (time.time_ns()), monotonic within this process.
const ORIGIN_NS = BigInt(Math.round(performance.timeOrigin * 1000)) * 1000n;
const timeNs = () => ORIGIN_NS + BigInt(Math.round(performance.now() * 1e6));

function newExecutionId() {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${crypto.randomBytes(3).toString('hex')}`;
}

// Ids of what an invocation dispatches: derived from its own id, so a re-run makes the same ids.
function childIds(parent, execution) {
  let count = 0;
  return () => {
    count += 1;
    return `${execution}.${sha1(`${parent}/${count}`).slice(0, 12)}`;
  };
}

// One message leaving this function, holding `units` of the execution's in-flight count.
const Send = (kind, target, message, key, units) => ({ kind, target, message, key, units });

// What one invocation leaves behind: sends, and the [invocationId, failure] records to write before the counter.
const Step = () => ({ sends: [], failures: [] });

const place = (invocation) => invocation.context.frames.map((frame) => frame.index);
const frames = (invocation) => invocation.context.frames.map(engine.frameToJSON);

function envelope(invocation) {
  return {
    refinery: 1, id: invocation.id, block: invocation.block, input: invocation.input, backpack: invocation.backpack,
    context: engine.contextToJSON(invocation.context), attempt: invocation.attempt, parent: invocation.parent,
    via: invocation.via, units: 1,
  };
}

function failureRecord(invocation, error) {
  return { block: invocation.block, invocation: invocation.id, error, frames: frames(invocation) };
}

function invocationFrom(message) {
  return engine.Invocation(message.id, message.block, get(message, 'input'), or(message.backpack, {}),
    engine.contextFromJSON(message.context), toInt(get(message, 'attempt', 0)), get(message, 'parent'),
    get(message, 'via'));
}

// str(value) as Python writes it (True, None, 1.5, {'a': 1}).
const pyStr = (value) => V.str(V.fromJS(value));

function httpReply(reply, execution) {
  const headers = { 'content-type': 'application/json' };
  for (const [key, value] of Object.entries(or(get(reply, 'headers'), {}))) headers[key.toLowerCase()] = pyStr(value);
  headers['x-refinery-execution'] = execution;
  const body = get(reply, 'body');
  const text = typeof body === 'string' ? body : dumps(body);
  return { statusCode: toInt(get(reply, 'statusCode', 200)), headers, body: text };
}

function gatewayTimeout(execution) {
  return {
    statusCode: 504, headers: { 'content-type': 'application/json', 'x-refinery-execution': execution },
    body: dumps({ message: 'the workflow gave no reply within the API\'s time limit', execution_id: execution }),
  };
}

function endpointFor(routeKey) {
  return Object.keys(MANIFEST.blocks).find((name) => {
    const block = MANIFEST.blocks[name];
    return block.type === 'api_endpoint'
      && `${String(or(block.method, 'GET')).toUpperCase()} ${or(block.path, '/')}` === routeKey;
  });
}

function valueError(message) {
  const error = new Error(message);
  error.name = 'ValueError';
  return error;
}

class Runtime {
  constructor(context) {
    this.context = context || {};
    this.store = Store.fromEnvironment();
    const parts = String(this.context.invokedFunctionArn || '').split(':');
    [this.partition, this.region, this.account] = parts.length > 5 ? [parts[1], parts[3], parts[4]]
      : ['aws', process.env.AWS_REGION || 'us-east-1', '000000000000'];
  }

  // -- entry points -----------------------------------------------------------------------------------------

  async handle(event) {
    if (isDict(event) && isOne(event.refinery)) return this.fromEnvelope(event);
    const records = get(event, 'Records');
    if (Array.isArray(records) && records.length) {
      if (get(records[0], 'eventSource') === 'aws:sqs') return this.fromQueue(records);
      if (get(records[0], 'EventSource') === 'aws:sns') {
        for (const record of records) await this.fromTopic(record);
        return { ok: true };
      }
    }
    if (truthy(get(event, 'refinery_schedule'))) return this.start(null, newExecutionId(), event.refinery_schedule);
    if (isDict(event) && 'routeKey' in event && 'requestContext' in event) return this.fromApi(event);
    return this.start(event === undefined ? null : event, newExecutionId(), SELF);
  }

  async fromEnvelope(event) {
    const message = await this.store.unpack(event);
    if (truthy(get(message, 'start'))) {
      return this.start(get(message, 'input'), or(get(message, 'execution'), newExecutionId()),
        or(get(message, 'block'), SELF));
    }
    await this.run(invocationFrom(message), toInt(get(message, 'units', 1)));
    return { ok: true };
  }

  // A new execution at `block` (this function's block, or a schedule / API endpoint it serves).
  async start(value, execution, block) {
    if (!Object.prototype.hasOwnProperty.call(MANIFEST.blocks, block)) {
      throw valueError(`'${block}' is not an entry this function serves`);
    }
    const invocation = engine.Invocation(`${execution}.0`, block, value, {}, engine.Context(execution));
    if (!(await this.store.startExecution(execution, block, nowS()))) {
      logline.write('skipped', {
        execution_id: execution, block, invocation_id: invocation.id, reason: 'this execution was started already',
      });
      return { execution_id: execution, skipped: true };
    }
    logline.write('execution_started', { execution_id: execution, block, ...logline.valueFields('input', value) });
    await this.run(invocation, 1);
    return { execution_id: execution };
  }

  async fromApi(event) {
    const routeKey = or(event.routeKey, '');
    const endpoint = endpointFor(routeKey);
    if (endpoint === undefined) return { statusCode: 404, body: dumps({ message: `no block serves ${routeKey}` }) };
    const request = { ...event };
    if (truthy(request.isBase64Encoded) && typeof request.body === 'string') {
      request.body = Buffer.from(request.body, 'base64').toString('utf8');
    }
    const execution = newExecutionId();
    await this.start(request, execution, endpoint);
    return this.awaitReply(execution);
  }

  // Poll for the api_response block's reply, within API Gateway's limit and this invocation's own.
  async awaitReply(execution) {
    const deadline = nowS() + Math.min(API_WAIT_S, this.remainingS() - 1.0);
    let delay = 0.02;
    while (nowS() < deadline) {
      const reply = await this.store.getReply(execution);
      if (reply !== null) return httpReply(reply, execution);
      await sleep(delay * 1000);
      delay = Math.min(delay * 1.5, 0.25);
    }
    return gatewayTimeout(execution);
  }

  async fromQueue(records) {
    const groups = new Map();
    for (const record of records) {
      const message = await this.store.unpack(jsonOrText(record.body));
      const queued = isOne(get(message, 'refinery')) ? get(message, 'queued') : null;
      if (queued === null) {
        await this.startFrom(message);
        continue;
      }
      if (!groups.has(queued.execution)) groups.set(queued.execution, { batch: [], ids: [] });
      groups.get(queued.execution).batch.push(queued);
      groups.get(queued.execution).ids.push(or(record.messageId, ''));
    }
    for (const [execution, { batch, ids }] of groups) await this.runBatch(execution, batch, ids);
    return { batchItemFailures: [] };
  }

  // One invocation of this block with a batch of one execution's queued messages.
  async runBatch(execution, batch, ids) {
    const queue = batch[0].queue;
    const transition = MANIFEST.outgoing(queue).find((t) => t.to === SELF);
    const via = transition === undefined ? null : transition.index;
    const digest = sha1(ids.slice().sort().join('/')).slice(0, 12);
    const last = batch[batch.length - 1];
    const hops = Math.max(...batch.map((m) => toInt(m.hops))) + 1;
    const invocation = engine.Invocation(`${execution}.q${digest}`, SELF, batch.map((m) => m.value),
      engine.mergeBackpacks(batch.map((m) => m.backpack)), engine.Context(execution, hops), 0, last.source, via);
    logline.write('transition', {
      execution_id: execution, source: queue, target: SELF, type: 'then', transition: via,
      invocation_id: last.source, batch: batch.length,
    });
    await this.run(invocation, batch.length);
  }

  async fromTopic(record) {
    const message = await this.store.unpack(jsonOrText(record.Sns.Message));
    const ours = isOne(get(message, 'refinery'));
    const delivery = ours ? get(or(get(message, 'deliveries'), {}), SELF) : null;
    if (delivery !== null) await this.run(invocationFrom(delivery), 1);
    else if (!ours || get(message, 'start')) await this.startFrom(message);
  }

  // A message sent or published by hand starts an execution: at the block a start envelope names, or at this
  // block with the message as its input.
  async startFrom(message) {
    if (isOne(get(message, 'refinery')) && get(message, 'start')) {
      await this.start(get(message, 'input'), or(get(message, 'execution'), newExecutionId()),
        or(get(message, 'block'), SELF));
    } else {
      await this.start(message, newExecutionId(), SELF);
    }
  }

  // -- one invocation ---------------------------------------------------------------------------------------

  remainingS() {
    const remaining = this.context.getRemainingTimeInMillis;
    return typeof remaining === 'function' ? remaining.call(this.context) / 1000 : 900.0;
  }

  async run(invocation, units) {
    const execution = invocation.context.execution_id;
    if (!(await this.store.claim(execution, invocation.id, invocation.block))) {
      logline.write('skipped', {
        execution_id: execution, block: invocation.block, invocation_id: invocation.id,
        reason: 'this dispatch ran already (a redelivered event)',
      });
      return;
    }
    const block = MANIFEST.blocks[invocation.block];
    const step = Step();
    if (block.type === 'code') {
      const started = nowS();
      const outcome = await this.call(invocation, block);
      await this.after(invocation, outcome, step, started);
    } else {
      await this.resource(invocation, step);
    }
    await this.settle(execution, step, units);
  }

  // Write the failures, move the in-flight counter, send, and end the execution when nothing is left.
  async settle(execution, step, units) {
    for (const [invocationId, failure] of step.failures) await this.store.putFailure(execution, invocationId, failure);
    const left = await this.store.addInflight(execution, step.sends.reduce((sum, send) => sum + send.units, 0) - units);
    for (const send of step.sends) await this.send(send);
    if (left === 0) {
      const status = await this.store.finish(execution);
      if (status !== null) logline.write('execution_finished', { execution_id: execution, status });
    }
  }

  logStart(invocation, attempt) {
    logline.write('start', {
      execution_id: invocation.context.execution_id, block: invocation.block, invocation_id: invocation.id,
      parent: invocation.parent, via: invocation.via, attempt, place: place(invocation), frames: frames(invocation),
      ...logline.valueFields('input', invocation.input), ...logline.valueFields('backpack', invocation.backpack),
    });
  }

  async call(invocation, block) {
    this.logStart(invocation, invocation.attempt);
    const timeout = Math.min(Number(get(block, 'timeout', 30)), Math.max(0.1, this.remainingS() - 3.0));
    for (const [key, value] of Object.entries(or(block.env, {}))) process.env[key] = String(value);
    const file = path.join(ROOT, block.file);
    const result = await blockload.callWithDeadline(file, invocation.input, invocation.backpack, timeout);
    return result.ok ? engine.Outcome.success(result.output, result.backpack)
      : { ok: false, output: null, backpack: null, error: result.error };
  }

  // A resource block reached by a dispatch (or an entry event) runs here, inline.
  async resource(invocation, step) {
    const block = MANIFEST.blocks[invocation.block];
    const started = nowS();
    let value = invocation.input;
    if (block.type === 'api_endpoint') value = engine.apiRequest(block, value);
    else if (block.type === 'schedule') value = engine.scheduleInput(block, value);
    else if (block.type === 'api_response') value = engine.apiReply(value);
    this.logStart(invocation, 0);
    if (block.type === 'queue') {
      this.enqueue(invocation, value, step, started);
      return;
    }
    if (block.type === 'api_response') await this.store.putReply(invocation.context.execution_id, value);
    await this.after(invocation, engine.Outcome.success(value, invocation.backpack), step, started);
  }

  enqueue(invocation, value, step, started) {
    const consumers = MANIFEST.outgoing(invocation.block).filter((t) => t.type === 'then');
    this.end(invocation, engine.Outcome.success(value, invocation.backpack), false, started);
    const message = {
      refinery: 1,
      queued: {
        queue: invocation.block, execution: invocation.context.execution_id, value, backpack: invocation.backpack,
        hops: invocation.context.hops, source: invocation.id,
      },
    };
    step.sends.push(Send('sqs', invocation.block, message, this.key(invocation), consumers.length ? 1 : 0));
  }

  // Route the outcome and turn it into records and sends.
  async after(invocation, outcome, step, started) {
    const execution = invocation.context.execution_id;
    const routing = engine.route(MANIFEST, invocation, outcome, childIds(invocation.id, execution));
    const final = routing.final && routing.outcome.ok;
    this.end(invocation, routing.outcome, final, started);
    const children = [];
    if (routing.retry !== null) {
      logline.write('retrying', {
        execution_id: execution, block: invocation.block, invocation_id: invocation.id, attempt: routing.retry.attempt,
      });
      children.push(routing.retry);
    }
    for (const [index, target] of routing.taken) {
      const kind = index < 0 ? 'on_exception' : MANIFEST.transitions[index].type;
      logline.write('transition', {
        execution_id: execution, source: invocation.block, target, type: kind, transition: index,
        invocation_id: invocation.id,
      });
    }
    children.push(...routing.dispatches);
    children.push(...(await this.arrivals(invocation, routing.arrivals, step)));
    if (routing.failure !== null) {
      step.failures.push([invocation.id, routing.failure]);
      logline.write('execution_failing', {
        execution_id: execution, block: routing.failure.block, invocation_id: invocation.id,
        error: routing.failure.error,
      });
    }
    if (final) await this.putOutput(invocation, routing.outcome);
    for (const child of children) await this.dispatch(child, step);
  }

  // Fill the join slots; the invocations of the joins this invocation completed.
  async arrivals(invocation, arrivals, step) {
    const execution = invocation.context.execution_id;
    const releaseIds = childIds(`${invocation.id}/join`, execution);
    const released = [];
    for (const arrival of arrivals) {
      const record = { value: arrival.value, backpack: arrival.backpack, source: arrival.source };
      let release;
      try {
        release = await this.store.arrive(execution, arrival.key, arrival.kind, arrival.target, arrival.slot,
          arrival.size, record, engine.contextToJSON(arrival.context));
      } catch (error) {
        if (!(error instanceof DuplicateSlot)) throw error;
        step.failures.push([invocation.id, failureRecord(invocation, duplicateError(arrival))]);
        continue;
      }
      if (release !== null) {
        released.push(engine.Invocation(releaseIds(), release.target, release.values,
          engine.mergeBackpacks(release.backpacks), engine.contextFromJSON(release.context), 0, invocation.id,
          arrival.via));
      }
    }
    return released;
  }

  putOutput(invocation, outcome) {
    return this.store.putOutput(invocation.context.execution_id, invocation.id, {
      block: invocation.block, output: outcome.output, backpack: or(outcome.backpack, {}), place: place(invocation),
      seq: timeNs(),
    });
  }

  async dispatch(child, step) {
    if (MANIFEST.blocks[child.block].type === 'code') {
      step.sends.push(Send('invoke', child.block, envelope(child), this.key(child), 1));
    } else {
      await this.inline(child, step);
    }
  }

  // A dispatch to a queue, topic or API response: done here; a topic's deliveries go out as one publish.
  async inline(invocation, step) {
    const inner = Step();
    await this.resource(invocation, inner);
    step.failures.push(...inner.failures);
    const deliveries = {};
    for (const send of inner.sends) {
      if (send.kind === 'invoke') deliveries[send.target] = send.message;
      else step.sends.push(send);
    }
    const count = Object.keys(deliveries).length;
    if (count) {
      const message = { refinery: 1, topic: invocation.block, deliveries };
      step.sends.push(Send('sns', invocation.block, message, this.key(invocation), count));
    }
  }

  end(invocation, outcome, final, started) {
    const fields = {};
    if (outcome.ok) {
      Object.assign(fields, logline.valueFields('output', outcome.output));
      fields.output_preview = logline.preview(outcome.output);
      Object.assign(fields, logline.valueFields('backpack_after', or(outcome.backpack, {})));
    } else {
      fields.error = outcome.error;
    }
    logline.write('end', {
      execution_id: invocation.context.execution_id, block: invocation.block, invocation_id: invocation.id,
      status: outcome.ok ? 'succeeded' : 'failed', final, duration_ms: Math.round((nowS() - started) * 1e6) / 1000,
      attempt: invocation.attempt, ...fields,
    });
  }

  // -- leaving this function --------------------------------------------------------------------------------

  key(invocation) {
    return `payloads/${invocation.context.execution_id}/${invocation.id}.json`;
  }

  async send(send) {
    const names = DATA.resources[send.target];
    const payload = await this.store.pack(send.message, send.key);
    if (send.kind === 'invoke') {
      await aws.lambdaInvoke(names.function, payload, 'Event');
    } else if (send.kind === 'sqs') {
      await aws.sqsSendMessage(await queueUrl(names.queue), payload);
    } else {
      await aws.snsPublish(`arn:${this.partition}:sns:${this.region}:${this.account}:${names.topic}`, payload);
    }
  }
}

function duplicateError(arrival) {
  const what = arrival.kind === 'fan-in' ? `item ${arrival.slot}` : `merge source #${arrival.slot + 1}`;
  const message = `${what} reached the ${arrival.kind} into '${arrival.target}' twice`;
  return { type: 'JoinError', message, traceback: '' };
}

async function queueUrl(name) {
  if (!queueUrls.has(name)) queueUrls.set(name, await aws.sqsGetQueueUrl(name));
  return queueUrls.get(name);
}

async function handler(event, context) {
  return new Runtime(context).handle(event);
}

module.exports = { handler, Runtime, childIds, newExecutionId, envelope };
