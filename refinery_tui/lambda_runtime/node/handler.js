// The deployed Node entry point (twin of handler.py): unwrap the event (a dispatch, a queue batch, a topic delivery, a
// schedule, an HTTP request, or a message sent by hand) and hand its invocations to the runner.
'use strict';

const crypto = require('crypto');

const engine = require('../../runtime/node/engine');
const { Store } = require('./store');
const logline = require('./logline');
const { dumps, truthy, or, toInt } = require('../../runtime/node/jsontext');
const V = require('../../runtime/node/pyvalues');
const { MANIFEST, SELF } = require('./function');
const { InvocationRunner, childIds, nowS } = require('./invocation');
const { Outbox, envelope } = require('./outbox');

// API Gateway gives up on an integration 29 s after the request reached it (a cold start counts), and its caller
// gets a bare 503: the function answers first, leaving this margin.
const API_TIMEOUT_MS = 29000;
const API_REPLY_MARGIN_S = 4.0;

const sha1 = (text) => crypto.createHash('sha1').update(text, 'utf8').digest('hex');
const isDict = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const isOne = (value) => value === 1 || value === true; // `value == 1` in Python
const get = (object, key, fallback = null) => (isDict(object) && key in object ? object[key] : fallback);
const jsonOrText = (text) => { try { return JSON.parse(text); } catch (error) { return text; } };
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

function newExecutionId() {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${crypto.randomBytes(3).toString('hex')}`;
}

// The id that claims one queued message's work for this block: the queue step that sent it, and this block (a
// queue with two consumers delivers each message to both).
const messageClaimId = (queued) => `${queued.source}>${SELF}`;

// An execution id made from a queue message: its send time and its message id (the same on redelivery).
function messageExecutionId(record) {
  const sent = Number(get(get(record, 'attributes'), 'SentTimestamp', 0)) || Date.now();
  const stamp = new Date(sent).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${sha1(String(or(get(record, 'messageId'), ''))).slice(0, 6)}`;
}

function messageFailed(messageId, error) {
  logline.write('message_failed', { message_id: messageId, error: `${error.name || 'Error'}: ${error.message}` });
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

// When the function must answer an HTTP request: before the API's integration timeout, counted from when the request
// reached API Gateway (`requestContext.timeEpoch`). REFINERY_API_TIMEOUT_MS says the integration's timeout when it is
// not the deployed 29 s.
function replyDeadline(event) {
  const limitS = Number(process.env.REFINERY_API_TIMEOUT_MS || API_TIMEOUT_MS) / 1000;
  const received = get(get(event, 'requestContext'), 'timeEpoch');
  const receivedS = typeof received === 'number' ? received / 1000 : nowS();
  return Math.min(receivedS, nowS()) + limitS - Math.min(API_REPLY_MARGIN_S, limitS / 4);
}

// The answer when the workflow's reply has not come in time: accepted, with the execution id to follow.
function stillRunning(execution) {
  return {
    statusCode: 202, headers: { 'content-type': 'application/json', 'x-refinery-execution': execution },
    body: dumps({
      message: 'the workflow is still running: its reply did not come within the API\'s time limit',
      execution_id: execution, follow: `refinery-tui logs PROJECT --execution ${execution} --follow`,
    }),
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
    this.runner = new InvocationRunner(this.store, new Outbox(this.store, this.context.invokedFunctionArn),
      () => this.remainingS());
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
    await this.runner.run(invocationFrom(message), toInt(get(message, 'units', 1)));
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
    await this.runner.run(invocation, 1);
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
    return this.awaitReply(execution, Math.min(replyDeadline(event), nowS() + this.remainingS() - 1.0));
  }

  // Poll for the api_response block's reply, within API Gateway's limit and this invocation's own.
  async awaitReply(execution, deadline) {
    let delay = 0.02;
    while (nowS() < deadline) {
      const reply = await this.store.getReply(execution);
      if (reply !== null) return httpReply(reply, execution);
      await sleep(Math.max(0, Math.min(delay, deadline - nowS())) * 1000);
      delay = Math.min(delay * 1.5, 0.25);
    }
    return stillRunning(execution);
  }

  // A batch of queue messages, each claimed by its own id: SQS redelivers a failed batch grouped differently, so a
  // message already run is skipped whatever batch it comes back in. The messages that failed are reported
  // (ReportBatchItemFailures), so only they come back.
  async fromQueue(records) {
    const failed = [];
    const groups = new Map();
    for (const record of records) {
      const messageId = or(get(record, 'messageId'), '');
      let queued;
      try {
        const message = await this.store.unpack(jsonOrText(record.body));
        queued = isOne(get(message, 'refinery')) ? get(message, 'queued') : null;
        if (queued === null) {
          await this.startFrom(message, messageExecutionId(record));
          continue;
        }
      } catch (error) {
        messageFailed(messageId, error);
        failed.push(messageId);
        continue;
      }
      if (!groups.has(queued.execution)) groups.set(queued.execution, []);
      groups.get(queued.execution).push([messageId, queued]);
    }
    for (const [execution, batch] of groups) {
      const claimed = [];
      try {
        for (const [messageId, queued] of batch) {
          try {
            if (await this.store.claim(execution, messageClaimId(queued), SELF)) {
              claimed.push([messageId, queued]);
            } else {
              logline.write('skipped', {
                execution_id: execution, block: SELF, invocation_id: queued.source,
                reason: 'this queue message ran already (a redelivered message)',
              });
            }
          } catch (error) {
            messageFailed(messageId, error);
            failed.push(messageId);
          }
        }
        if (claimed.length) await this.runBatch(execution, claimed.map(([, queued]) => queued));
      } catch (error) {
        for (const [messageId] of claimed) {
          messageFailed(messageId, error);
          failed.push(messageId);
        }
      }
    }
    return { batchItemFailures: failed.map((messageId) => ({ itemIdentifier: messageId })) };
  }

  // One invocation of this block with a batch of one execution's queued messages.
  async runBatch(execution, batch) {
    const queue = batch[0].queue;
    const transition = MANIFEST.outgoing(queue).find((t) => t.to === SELF);
    const via = transition === undefined ? null : transition.index;
    const digest = sha1(batch.map(messageClaimId).sort().join('/')).slice(0, 12);
    const last = batch[batch.length - 1];
    const hops = Math.max(...batch.map((m) => toInt(m.hops))) + 1;
    const invocation = engine.Invocation(`${execution}.q${digest}`, SELF, batch.map((m) => m.value),
      engine.mergeBackpacks(batch.map((m) => m.backpack)), engine.Context(execution, hops), 0, last.source, via);
    logline.write('transition', {
      execution_id: execution, source: queue, target: SELF, type: 'then', transition: via,
      invocation_id: last.source, batch: batch.length,
    });
    await this.runner.run(invocation, batch.length);
  }

  async fromTopic(record) {
    const message = await this.store.unpack(jsonOrText(record.Sns.Message));
    const ours = isOne(get(message, 'refinery'));
    const delivery = ours ? get(or(get(message, 'deliveries'), {}), SELF) : null;
    if (delivery !== null) await this.runner.run(invocationFrom(delivery), 1);
    else if (!ours || get(message, 'start')) await this.startFrom(message);
  }

  // A message sent or published by hand starts an execution: at the block a start envelope names, or at this
  // block with the message as its input. A queue message names its execution after itself, so a redelivery does
  // not start it twice.
  async startFrom(message, execution = null) {
    const id = or(execution, newExecutionId());
    if (isOne(get(message, 'refinery')) && get(message, 'start')) {
      await this.start(get(message, 'input'), or(get(message, 'execution'), id), or(get(message, 'block'), SELF));
    } else {
      await this.start(message, id, SELF);
    }
  }

  // -- one invocation ---------------------------------------------------------------------------------------

  remainingS() {
    const remaining = this.context.getRemainingTimeInMillis;
    return typeof remaining === 'function' ? remaining.call(this.context) / 1000 : 900.0;
  }
}

async function handler(event, context) {
  return new Runtime(context).handle(event);
}

module.exports = { handler, Runtime, childIds, newExecutionId, envelope };
