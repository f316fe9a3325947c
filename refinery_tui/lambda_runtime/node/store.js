// The state table and payload bucket (the twin of lambda_runtime/store.py): claims, join slots, counters, outputs.
'use strict';

const crypto = require('crypto');
const aws = require('./aws');
const { dumps, compact } = require('../../runtime/node/jsontext');

const TTL_S = 7 * 24 * 3600;
const ITEM_INLINE = 300000;
// The state table's layout (see store.py): per-dispatch records spread over SHARDS partitions `exec#<id>#<shard>`;
// `meta`, the reply and the joins' counts stay in `exec#<id>`.
const LAYOUT = 2;
const SHARDS = 16;
// A throttled call is tried again with jittered, growing waits until this much of the invocation's time is left.
const THROTTLE_MARGIN_S = 5.0;
const THROTTLE_BASE_S = 0.05;
const THROTTLE_CAP_S = 2.0;

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
const sleepS = (seconds) => new Promise((resolve) => { setTimeout(resolve, seconds * 1000); });

// The partition of what is read or counted as one: the execution's meta, its reply, its joins' counts.
const basePartition = (execution) => `exec#${execution}`;
// The partition of a per-dispatch record named `name` (an invocation id, or a join's key and slot).
const shardPartition = (execution, name) => {
  const shard = parseInt(sha1(name).slice(0, 8), 16) % SHARDS;
  return `exec#${execution}#${String(shard).padStart(2, '0')}`;
};
// Every partition an execution written in `layout` keeps items in.
const partitions = (execution, layout) => {
  const base = basePartition(execution);
  if (layout < 2) return [base];
  return [base, ...Array.from({ length: SHARDS }, (_, shard) => `${base}#${String(shard).padStart(2, '0')}`)];
};

class Store {
  constructor(table, bucket, inlineLimit) {
    this.table = table;
    this.bucket = bucket;
    this.inlineLimit = inlineLimit;
    // How long the invocation may still run (the runner sets it); throttled calls are retried until near it.
    this.remainingS = () => 60.0;
    // Counter updates made so far: a claim may be given back only while none of its updates has landed.
    this.counted = 0;
  }

  // One state-table call; throttling is waited out (full jitter) while the invocation has time left.
  async call(op, params) {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await aws.ddb(op, params);
      } catch (error) {
        const wait = Math.random() * Math.min(THROTTLE_CAP_S, THROTTLE_BASE_S * 2 ** Math.min(attempt, 10));
        if (!aws.isThrottle(error) || this.remainingS() - wait < THROTTLE_MARGIN_S) throw error;
        await sleepS(wait);
      }
    }
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

  // What is read or counted as one lives in the execution's base partition; per-dispatch records in its shards.

  static key(execution, sort) {
    return { pk: S(basePartition(execution)), sk: S(sort) };
  }

  static shardKey(execution, name, sort) {
    return { pk: S(shardPartition(execution, name)), sk: S(sort) };
  }

  static ttl() {
    return { ttl: N(Math.floor(now()) + TTL_S) };
  }

  // A put that succeeds only when the item does not exist yet: false when it does.
  async putNew(item, condition = {}) {
    try {
      await this.call('PutItem', {
        TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)', ...condition,
      });
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async put(item) {
    await this.call('PutItem', { TableName: this.table, Item: item });
  }

  // Create the execution's record holding one unit in flight; false when it exists already.
  async startExecution(execution, entry, started) {
    const created = await this.putNew({
      ...Store.key(execution, 'meta'), ...Store.ttl(), layout: N(LAYOUT), inflight: N(1), status: S('running'), entry: S(entry),
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
      ...Store.shardKey(execution, invocationId, `run#${invocationId}`), ...Store.ttl(), block: S(block),
      claimed: N(now()),
    });
  }

  // Give a claim back, so a retry of the same dispatch runs it (its work did not land).
  async release(execution, invocationId) {
    await this.call('DeleteItem', {
      TableName: this.table, Key: Store.shardKey(execution, invocationId, `run#${invocationId}`),
    });
  }

  async addInflight(execution, delta) {
    const reply = await this.call('UpdateItem', {
      TableName: this.table, Key: Store.key(execution, 'meta'), UpdateExpression: 'ADD inflight :d',
      ExpressionAttributeValues: { ':d': N(delta) }, ReturnValues: 'ALL_NEW',
    });
    this.counted += 1;
    return parseInt(reply.Attributes.inflight.N, 10);
  }

  async putRecord(key, execution, value, payloadKey) {
    await this.put({ ...key, ...Store.ttl(), ...(await this.data(value, `payloads/${execution}/${payloadKey}`)) });
  }

  putOutput(execution, invocationId, record) {
    const key = Store.shardKey(execution, invocationId, `out#${invocationId}`);
    return this.putRecord(key, execution, record, `out-${invocationId}.json`);
  }

  putFailure(execution, invocationId, failure) {
    const key = Store.shardKey(execution, invocationId, `fail#${invocationId}`);
    return this.putRecord(key, execution, failure, `fail-${invocationId}.json`);
  }

  putReply(execution, reply) {
    return this.putRecord(Store.key(execution, 'reply'), execution, reply, 'reply.json');
  }

  async getReply(execution) {
    const answer = await this.call('GetItem', {
      TableName: this.table, Key: Store.key(execution, 'reply'), ConsistentRead: true,
    });
    return answer.Item ? this.value(answer.Item) : null;
  }

  // Fill one slot of a join; exactly one arrival (the one that fills the last slot) gets the release. The
  // invocation `by` may fill its own slot again (a retry of it whose count did not land).
  async arrive(execution, key, kind, target, slot, size, record, context, by = '') {
    const payload = `payloads/${execution}/join-${sha1(key).slice(0, 16)}-${slot}.json`;
    const filledSlot = await this.putNew({
      ...Store.shardKey(execution, `${key}#${slot}`, `join#${key}#slot#${String(slot).padStart(7, '0')}`),
      ...Store.ttl(), by: S(by), ...(await this.data(record, payload)),
    }, {
      ConditionExpression: 'attribute_not_exists(pk) OR #by = :by', ExpressionAttributeNames: { '#by': 'by' },
      ExpressionAttributeValues: { ':by': S(by || '-') },
    });
    if (!filledSlot) throw new DuplicateSlot(key);
    const filled = await this.count(execution, key, kind, target, size, context);
    if (filled !== size) return null;
    const found = [];
    for (const partition of partitions(execution, LAYOUT)) {
      found.push(...(await this.query(partition, `join#${key}#slot#`)));
    }
    found.sort((a, b) => (a.sk.S < b.sk.S ? -1 : a.sk.S > b.sk.S ? 1 : 0));
    const slots = await Promise.all(found.map((item) => this.value(item)));
    return {
      target, values: slots.map((s) => s.value), backpacks: slots.map((s) => s.backpack),
      sources: slots.map((s) => s.source), context,
    };
  }

  // Count one more arrival at a join (recording what the join is); the new count.
  async count(execution, key, kind, target, size, context) {
    const reply = await this.call('UpdateItem', {
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
    this.counted += 1;
    return parseInt(reply.Attributes.filled.N, 10);
  }

  async query(partition, prefix) {
    const items = [];
    const params = {
      TableName: this.table, ConsistentRead: true, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': S(partition), ':prefix': S(prefix) },
    };
    for (;;) {
      const reply = await this.call('Query', params);
      items.push(...(reply.Items || []));
      if (!reply.LastEvaluatedKey) return items;
      params.ExclusiveStartKey = reply.LastEvaluatedKey;
    }
  }

  // Whether the execution failed: a failure record, or a join that did not fill.
  async failed(execution) {
    for (const partition of partitions(execution, LAYOUT)) {
      if ((await this.query(partition, 'fail#')).length) return true;
    }
    return (await this.query(basePartition(execution), 'join#')).some((item) => item.sk.S.endsWith('#count')
      && parseInt(item.filled.N, 10) < parseInt(item.size_.N, 10));
  }

  // Called when nothing is in flight: set the final status once; returns it (null if already set).
  async finish(execution) {
    const status = (await this.failed(execution)) ? 'failed' : 'succeeded';
    try {
      await this.call('UpdateItem', {
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

module.exports = {
  Store, DuplicateSlot, TTL_S, ITEM_INLINE, LAYOUT, SHARDS, basePartition, shardPartition, partitions,
};
