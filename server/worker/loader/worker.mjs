// Tracklet's Worker entry point: keeps started Go runtimes (app.wasm) in a
// small pool per isolate and hands each invocation — a request, a queue
// batch, a cron trigger — to one of them.
//
// syumai/workers' own loader (workers-assets-gen's worker.mjs) makes a new
// Go() and a new WebAssembly.Instance for every invocation: a Go runtime
// start (~10 ms of CPU, the free plan's whole budget) before any work. Here
// an instance, once started, serves invocation after invocation, under
// these rules:
//
//   - One invocation per instance at a time. Go's view of "the current
//     invocation" is one object per instance (globalThis.context, which
//     syumai/workers reads its env and ctx from), so sharing an instance
//     between concurrent invocations would mix their bindings. A busy pool
//     starts another instance rather than make an invocation wait: workerd
//     cancels an invocation that waits on a promise another invocation
//     resolves ("hung").
//   - Each invocation gets its own env and a ctx of its own (see
//     Invocation): waitUntil work registered through it is tracked, and the
//     instance goes back to the pool only after the response body has been
//     sent (or cancelled) and every such promise has settled.
//   - An instance goes back only if it is quiet: no Go timer pending (a
//     time.AfterFunc of one request must not fire inside another). Else, or
//     if its memory has grown past maxInstanceBytes, it is retired: its
//     context is revoked and it never gets another invocation.
//   - Bounded: at most maxInstances live instances and maxPoolBytes of
//     wasm memory; past that an invocation is refused (503 for a request,
//     a retry for a queue batch) instead of growing the isolate towards
//     its 128 MB.
//
// Tested by pool_test.go (a probe program under wrangler dev) and the
// worker's end-to-end suite, which runs on this loader.
import "./wasm_exec.js";
import { connect } from "cloudflare:sockets";
import mod from "./app.wasm";

// Limits of the pool; see the rules above. An instance of the collector
// starts with ~10 MB of linear memory.
const maxInstances = 8;
const maxPoolBytes = 96 << 20;
const maxInstanceBytes = 32 << 20;
// An invocation still holding its instance after this long (a client that
// never reads its response, a waitUntil that never settles) is written off:
// its instance is retired so that it cannot starve the pool.
const maxBusyMs = 60_000;

globalThis.tryCatch = (fn) => {
  try {
    return { result: fn() };
  } catch (e) {
    return { error: e };
  }
};

let nextInstanceId = 1;
let nextInvocationId = 1;

// revoked stands in for env and ctx between invocations and after
// retirement: Go code that reaches for them then gets an error, not
// another invocation's bindings.
const revoked = Object.freeze({
  waitUntil() {
    throw new Error("tracklet: waitUntil outside an invocation");
  },
  passThroughOnException() {},
});

// Instance is one started Go program and the context object it reads as
// globalThis.context.
class Instance {
  constructor(pool) {
    this.pool = pool;
    this.id = nextInstanceId++;
    this.go = new Go();
    this.context = { env: revoked, ctx: revoked, connect, binding: {}, instance: this.id, invocation: 0 };
    this.busy = null; // the Invocation it serves
    this.retired = false;
    let ready;
    this.ready = new Promise((resolve) => (ready = resolve));
    this.markReady = ready;
    this.wasm = new WebAssembly.Instance(mod, {
      ...this.go.importObject,
      workers: { ready: () => ready() },
    });
  }

  // start runs the Go program's main, in its first invocation (whose env
  // main may read).
  start() {
    // run resolves when the Go program exits (a panic): the instance is
    // gone, and so is the answer of the invocation it was serving.
    this.exited = this.go.run(this.wasm, this.context).finally(() => {
      this.retire("exited");
      this.markReady();
    });
  }

  bytes() {
    return this.wasm.exports.mem.buffer.byteLength;
  }

  // quiet reports whether nothing of the last invocation can still run:
  // the Go scheduler has no wake-up pending.
  quiet() {
    return !this.go.exited && this.go._scheduledTimeouts.size === 0;
  }

  retire(why) {
    if (this.retired) return;
    this.retired = true;
    Object.assign(this.context, { env: revoked, ctx: revoked, invocation: 0 });
    this.pool.remove(this);
    if (why !== "exited") console.log(JSON.stringify({ msg: "tracklet: instance retired", instance: this.id, why }));
  }
}

// Invocation is one fetch, queue or scheduled event on one instance.
class Invocation {
  constructor(instance, env, ctx) {
    this.instance = instance;
    this.id = nextInvocationId++;
    this.started = Date.now();
    this.pending = new Set(); // waitUntil promises not yet settled
    this.open = true; // until the response body is done
    let settled;
    this.settled = new Promise((resolve) => (settled = resolve));
    this.resolveSettled = settled;
    const inv = this;
    // The ctx Go sees: waitUntil is tracked here and, so that workerd keeps
    // the invocation alive, through the real ctx too.
    this.ctx = {
      waitUntil(p) {
        if (inv.released) throw new Error("tracklet: waitUntil after the invocation ended");
        const tracked = Promise.resolve(p).catch((e) => console.error("tracklet: waitUntil task failed", e));
        inv.pending.add(tracked);
        tracked.finally(() => {
          inv.pending.delete(tracked);
          inv.maybeRelease();
        });
        ctx.waitUntil(tracked);
      },
      passThroughOnException() {
        ctx.passThroughOnException?.();
      },
      props: ctx.props,
    };
    instance.busy = this;
    Object.assign(instance.context, { env, ctx: this.ctx, invocation: this.id });
  }

  // done says the invocation's own work (response body, batch, task) is
  // over; the instance is released once its waitUntil work settles too.
  done() {
    this.open = false;
    this.maybeRelease();
  }

  maybeRelease() {
    if (this.open || this.pending.size > 0 || this.released) return;
    this.released = true;
    const inst = this.instance;
    Object.assign(inst.context, { env: revoked, ctx: revoked, invocation: 0 });
    inst.busy = null;
    if (!inst.quiet()) inst.retire("a Go timer is pending");
    else if (inst.bytes() > maxInstanceBytes) inst.retire(`memory grew to ${inst.bytes()} bytes`);
    this.resolveSettled();
  }
}

// Pool is the isolate's instances.
class Pool {
  constructor() {
    this.instances = new Set();
  }

  remove(inst) {
    this.instances.delete(inst);
  }

  // begin returns a new Invocation on an idle instance, a new instance if
  // none is idle, or null if the pool is at its limits.
  begin(env, ctx) {
    let bytes = 0;
    for (const inst of this.instances) {
      if (inst.busy && Date.now() - inst.busy.started > maxBusyMs) inst.retire("invocation never finished");
    }
    for (const inst of this.instances) {
      if (!inst.busy) return new Invocation(inst, env, ctx);
      bytes += inst.bytes();
    }
    if (this.instances.size >= maxInstances || bytes + maxInstanceBytes / 2 > maxPoolBytes) return null;
    const inst = new Instance(this);
    this.instances.add(inst);
    const inv = new Invocation(inst, env, ctx);
    inst.start();
    return inv;
  }
}

const pool = new Pool();

// run starts inv's work (call returns its promise) once the instance's Go
// program is ready.
async function run(inv, call) {
  const inst = inv.instance;
  await inst.ready;
  const exited = inst.exited.then(() => {
    throw new Error(`tracklet: Go instance ${inst.id} exited during invocation ${inv.id}`);
  });
  if (inst.go.exited) await exited;
  return Promise.race([call(inst.context.binding), exited]);
}

// track makes a response whose body, when fully read or cancelled, ends
// inv. The body streams: an export of many events is not held in memory.
function track(inv, res) {
  if (!res.body) {
    inv.done();
    return res;
  }
  const reader = res.body.getReader();
  const body = new ReadableStream({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          inv.done();
        } else {
          controller.enqueue(value);
        }
      } catch (e) {
        controller.error(e);
        inv.done();
      }
    },
    async cancel(reason) {
      try {
        await reader.cancel(reason);
      } finally {
        inv.done();
      }
    },
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

async function fetch(req, env, ctx) {
  const inv = pool.begin(env, ctx);
  if (!inv) {
    return new Response('{"message":"the worker is busy; retry"}', {
      status: 503,
      headers: { "Content-Type": "application/json", "Retry-After": "1" },
    });
  }
  ctx.waitUntil(inv.settled);
  let res;
  try {
    res = await run(inv, (b) => b.handleRequest(req));
  } catch (e) {
    inv.done();
    throw e;
  }
  return track(inv, res);
}

// invoke runs a queue batch or a cron trigger: the invocation ends when
// Go's promise settles.
async function invoke(env, ctx, call) {
  const inv = pool.begin(env, ctx);
  if (!inv) throw new Error("tracklet: every Go instance is busy"); // the queue retries the batch
  ctx.waitUntil(inv.settled);
  try {
    return await run(inv, call);
  } finally {
    inv.done();
  }
}

async function queue(batch, env, ctx) {
  return invoke(env, ctx, (b) => b.handleQueueMessageBatch(batch));
}

async function scheduled(event, env, ctx) {
  return invoke(env, ctx, (b) => b.runScheduler(event));
}

export default { fetch, queue, scheduled };
