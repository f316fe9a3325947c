// One invocation in this function: run its block once, route the outcome, record it, and turn it into sends (twin of
// invocation.py).
'use strict';

const crypto = require('crypto');
const path = require('path');
const { performance } = require('perf_hooks');

const engine = require('../../runtime/node/engine');
const blockload = require('../../runtime/node/blockload');
const logline = require('./logline');
const { DuplicateSlot } = require('./store');
const { or } = require('../../runtime/node/jsontext');
const { MANIFEST, ROOT, SELF } = require('./function');
const { Send, payloadKey, envelope } = require('./outbox');

const nowS = () => Date.now() / 1000;
const sha1 = (text) => crypto.createHash('sha1').update(text, 'utf8').digest('hex');
const isDict = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const get = (object, key, fallback = null) => (isDict(object) && key in object ? object[key] : fallback);

// Nanoseconds since the epoch (time.time_ns()), monotonic within this process.
const ORIGIN_NS = BigInt(Math.round(performance.timeOrigin * 1000)) * 1000n;
const timeNs = () => ORIGIN_NS + BigInt(Math.round(performance.now() * 1e6));

// Ids of what an invocation dispatches: derived from its own id, so a re-run makes the same ids.
function childIds(parent, execution) {
  let count = 0;
  return () => {
    count += 1;
    return `${execution}.${sha1(`${parent}/${count}`).slice(0, 12)}`;
  };
}

// What one invocation leaves behind: sends, and the [invocationId, failure] records to write before the counter.
const Step = () => ({ sends: [], failures: [] });

const place = (invocation) => invocation.context.frames.map((frame) => frame.index);
const frames = (invocation) => invocation.context.frames.map(engine.frameToJSON);

function failureRecord(invocation, error) {
  return { block: invocation.block, invocation: invocation.id, error, frames: frames(invocation) };
}

function duplicateError(arrival) {
  const what = arrival.kind === 'fan-in' ? `item ${arrival.slot}` : `merge source #${arrival.slot + 1}`;
  const message = `${what} reached the ${arrival.kind} into '${arrival.target}' twice`;
  return { type: 'JoinError', message, traceback: '' };
}

// Runs invocations at most once per dispatch id, and settles each: its records, the in-flight count, its sends.
class InvocationRunner {
  constructor(store, outbox, remainingS) {
    this.store = store;
    this.outbox = outbox;
    this.remainingS = remainingS;
    store.remainingS = remainingS;
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
    const counted = this.store.counted;
    try {
      await this.runClaimed(invocation, units);
    } catch (error) {
      if (this.store.counted !== counted) throw error;
      // Nothing was counted yet (a write was refused past its retries): give the claim back and dispatch the
      // invocation again to this function (asynchronous invokes are not retried by Lambda here), so it is run
      // again instead of lost.
      await this.store.release(execution, invocation.id);
      const message = { ...envelope(invocation), units };
      await this.outbox.send(Send('invoke', SELF, message, payloadKey(invocation), units));
      logline.write('released', {
        execution_id: execution, block: invocation.block, invocation_id: invocation.id,
        reason: 'its state could not be written: dispatched again',
      });
    }
  }

  // Run the claimed invocation and settle it.
  async runClaimed(invocation, units) {
    const execution = invocation.context.execution_id;
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
    for (const send of step.sends) await this.outbox.send(send);
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
    step.sends.push(Send('sqs', invocation.block, message, payloadKey(invocation), consumers.length ? 1 : 0));
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
          arrival.size, record, engine.contextToJSON(arrival.context), invocation.id);
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
      step.sends.push(Send('invoke', child.block, envelope(child), payloadKey(child), 1));
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
      step.sends.push(Send('sns', invocation.block, message, payloadKey(invocation), count));
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
}

module.exports = { InvocationRunner, childIds, nowS };
