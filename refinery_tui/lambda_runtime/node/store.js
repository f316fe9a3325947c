// The state table and payload bucket (the twin of lambda_runtime/store.py): claims, join slots, counters, outputs.
'use strict';

const crypto = require('crypto');
const aws = require('./aws');
const { dumps, compact } = require('../../runtime/node/jsontext');

const TTL_S = 7 * 24 * 3600;
const ITEM_INLINE = 300000;

// A join slot was filled twice.
class DuplicateSlot extends Error {
  constructor(key) {
    super(key);
    this.name = 'DuplicateSlot';
  }
}

const S = (value) => ({ S: value });
const N = (value) => ({ N: String(value) });
const now = () => Date.now() / 1000;
const sha1 = (text) => crypto.createHash('sha1').update(text, 'utf8').digest('hex');
const conditionFailed = (error) => error.name === 'ConditionalCheckFailedException';

class Store {
  constructor(table, bucket, inlineLimit) {
    this.table = table;
    this.bucket = bucket;
    this.inlineLimit = inlineLimit;
  }

  static fromEnvironment() {
    const env = process.env;
    if (!env.REFINERY_TABLE || !env.REFINERY_BUCKET) {
      throw new Error('REFINERY_TABLE and REFINERY_BUCKET must be set in the function\'s environment');
    }
    return new Store(env.REFINERY_TABLE, env.REFINERY_BUCKET, parseInt(env.REFINERY_INLINE_LIMIT || '200000', 10));
  }

  // Payloads: JSON text that is too big travels as a reference to an object in the bucket.

  async putPayload(key, text) {
    await aws.s3PutObject(this.bucket, key, Buffer.from(text, 'utf8'), 'application/json');
    return key;
  }

  async getPayload(key) {
    return (await aws.s3GetObject(this.bucket, key)).toString('utf8');
  }

  // The message as JSON, or a reference to it in the bucket when it is above the inline limit.
  async pack(message, key) {
    const text = compact(message);
    if (Buffer.byteLength(text, 'utf8') <= this.inlineLimit) return text;
    return dumps({ refinery: 1, ref: await this.putPayload(key, text) });
  }

  async unpack(message) {
    if (message !== null && typeof message === 'object' && !Array.isArray(message) && message.refinery === 1 && 'ref' in message) {
      return JSON.parse(await this.getPayload(message.ref));
    }
    return message;
  }

  async data(value, key) {
    const text = compact(value);
    if (Buffer.byteLength(text, 'utf8') <= ITEM_INLINE) return { data: S(text) };
    return { data_ref: S(await this.putPayload(key, text)) };
  }

  async value(item) {
    if (item.data_ref) return JSON.parse(await this.getPayload(item.data_ref.S));
    return item.data ? JSON.parse(item.data.S) : null;
  }

  // Items all live in the execution's partition.

  static key(execution, sort) {
    return { pk: S(`exec#${execution}`), sk: S(sort) };
  }

  static ttl() {
    return { ttl: N(Math.floor(now()) + TTL_S) };
  }

  // A put that succeeds only when the item does not exist yet: false when it does.
  async putNew(item) {
    try {
      await aws.ddb('PutItem', { TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' });
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async put(item) {
    await aws.ddb('PutItem', { TableName: this.table, Item: item });
  }

  // Create the execution's record holding one unit in flight; false when it exists already.
  async startExecution(execution, entry, started) {
    const created = await this.putNew({
      ...Store.key(execution, 'meta'), ...Store.ttl(), inflight: N(1), status: S('running'), entry: S(entry),
      started: N(started),
    });
    if (!created) return false;
    // The started index (see store.py): one partition, sorted by start time, for the latest executions.
    const sort = `${started.toFixed(6).padStart(20, '0')}#${execution}`;
    await this.put({ pk: S('executions'), sk: S(sort), ...Store.ttl() });
    return true;
  }

  // Run each dispatch at most once: the first claim of an id wins.
  claim(execution, invocationId, block) {
    return this.putNew({
      ...Store.key(execution, `run#${invocationId}`), ...Store.ttl(), block: S(block), claimed: N(now()),
    });
  }

  async addInflight(execution, delta) {
    const reply = await aws.ddb('UpdateItem', {
      TableName: this.table, Key: Store.key(execution, 'meta'), UpdateExpression: 'ADD inflight :d',
      ExpressionAttributeValues: { ':d': N(delta) }, ReturnValues: 'ALL_NEW',
    });
    return parseInt(reply.Attributes.inflight.N, 10);
  }

  async putRecord(execution, sort, value, payloadKey) {
    await this.put({
      ...Store.key(execution, sort), ...Store.ttl(), ...(await this.data(value, `payloads/${execution}/${payloadKey}`)),
    });
  }

  putOutput(execution, invocationId, record) {
    return this.putRecord(execution, `out#${invocationId}`, record, `out-${invocationId}.json`);
  }

  putFailure(execution, invocationId, failure) {
    return this.putRecord(execution, `fail#${invocationId}`, failure, `fail-${invocationId}.json`);
  }

  putReply(execution, reply) {
    return this.putRecord(execution, 'reply', reply, 'reply.json');
  }

  async getReply(execution) {
    const answer = await aws.ddb('GetItem', {
      TableName: this.table, Key: Store.key(execution, 'reply'), ConsistentRead: true,
    });
    return answer.Item ? this.value(answer.Item) : null;
  }

  // Fill one slot of a join; exactly one arrival (the one that fills the last slot) gets the release.
  async arrive(execution, key, kind, target, slot, size, record, context) {
    const payload = `payloads/${execution}/join-${sha1(key).slice(0, 16)}-${slot}.json`;
    const filledSlot = await this.putNew({
      ...Store.key(execution, `join#${key}#slot#${String(slot).padStart(7, '0')}`), ...Store.ttl(),
      ...(await this.data(record, payload)),
    });
    if (!filledSlot) throw new DuplicateSlot(key);
    const filled = await this.count(execution, key, kind, target, size, context);
    if (filled !== size) return null;
    const slots = await Promise.all((await this.query(execution, `join#${key}#slot#`)).map((item) => this.value(item)));
    return {
      target, values: slots.map((s) => s.value), backpacks: slots.map((s) => s.backpack),
      sources: slots.map((s) => s.source), context,
    };
  }

  // Count one more arrival at a join (recording what the join is); the new count.
  async count(execution, key, kind, target, size, context) {
    const reply = await aws.ddb('UpdateItem', {
      TableName: this.table, Key: Store.key(execution, `join#${key}#count`),
      UpdateExpression: 'ADD filled :one SET size_ = :size, target = :target, kind = :kind, '
        + 'join_key = :key, context = :context, #t = :ttl',
      ExpressionAttributeNames: { '#t': 'ttl' },
      ExpressionAttributeValues: {
        ':one': N(1), ':size': N(size), ':target': S(target), ':kind': S(kind), ':key': S(key),
        ':context': S(dumps(context)), ':ttl': N(Math.floor(now()) + TTL_S),
      },
      ReturnValues: 'ALL_NEW',
    });
    return parseInt(reply.Attributes.filled.N, 10);
  }

  async query(execution, prefix) {
    const items = [];
    const params = {
      TableName: this.table, ConsistentRead: true, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': S(`exec#${execution}`), ':prefix': S(prefix) },
    };
    for (;;) {
      const reply = await aws.ddb('Query', params);
      items.push(...(reply.Items || []));
      if (!reply.LastEvaluatedKey) return items;
      params.ExclusiveStartKey = reply.LastEvaluatedKey;
    }
  }

  // Whether the execution failed: a failure record, or a join that did not fill.
  async failed(execution) {
    if ((await this.query(execution, 'fail#')).length) return true;
    return (await this.query(execution, 'join#')).some((item) => item.sk.S.endsWith('#count')
      && parseInt(item.filled.N, 10) < parseInt(item.size_.N, 10));
  }

  // Called when nothing is in flight: set the final status once; returns it (null if already set).
  async finish(execution) {
    const status = (await this.failed(execution)) ? 'failed' : 'succeeded';
    try {
      await aws.ddb('UpdateItem', {
        TableName: this.table, Key: Store.key(execution, 'meta'), UpdateExpression: 'SET #s = :s, ended = :e',
        ConditionExpression: '#s = :running', ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': S(status), ':e': N(now()), ':running': S('running') },
      });
    } catch (error) {
      if (conditionFailed(error)) return null;
      throw error;
    }
    return status;
  }
}

module.exports = { Store, DuplicateSlot, TTL_S, ITEM_INLINE };
