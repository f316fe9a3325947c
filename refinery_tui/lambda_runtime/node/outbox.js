// What leaves this function: a dispatch to another block's function, a message to a queue, a publish to a topic
// (twin of outbox.py).
'use strict';

const aws = require('./aws');
const engine = require('../../runtime/node/engine');
const { DATA } = require('./function');

const queueUrls = new Map();

// One message leaving this function, holding `units` of the execution's in-flight count.
const Send = (kind, target, message, key, units) => ({ kind, target, message, key, units });

// Where a message for this invocation is kept when it is too big to travel inline.
const payloadKey = (invocation) => `payloads/${invocation.context.execution_id}/${invocation.id}.json`;

// The message that dispatches `invocation` to its block's function.
function envelope(invocation) {
  return {
    refinery: 1, id: invocation.id, block: invocation.block, input: invocation.input, backpack: invocation.backpack,
    context: engine.contextToJSON(invocation.context), attempt: invocation.attempt, parent: invocation.parent,
    via: invocation.via, units: 1,
  };
}

async function queueUrl(name) {
  if (!queueUrls.has(name)) queueUrls.set(name, await aws.sqsGetQueueUrl(name));
  return queueUrls.get(name);
}

// Sends messages from this function, in the account and region it runs in.
class Outbox {
  constructor(store, invokedFunctionArn) {
    this.store = store;
    const parts = String(invokedFunctionArn || '').split(':');
    [this.partition, this.region, this.account] = parts.length > 5 ? [parts[1], parts[3], parts[4]]
      : ['aws', process.env.AWS_REGION || 'us-east-1', '000000000000'];
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

module.exports = { Send, payloadKey, envelope, Outbox };
