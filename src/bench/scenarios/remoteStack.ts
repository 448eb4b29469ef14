/**
 * The stack remote-* scenarios run on: the real Scheduler over a store, the
 * local event broker and the zmq handler registry on a free port, with handler
 * processes of the compiled example handler (dist/examples/testHandler.js)
 * serving handler id "bench". Task "bench" calls its `noop` method without a
 * concurrency limit. Processes are killed when the scenario ends.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import { Effect, Layer, Scope } from "effect"
import * as LocalBroker from "../../components/broker/Local.js"
import * as MemoryStore from "../../components/datastore/Memory.js"
import * as SqliteStore from "../../components/datastore/Sqlite.js"
import * as Zmq from "../../components/registry/Zmq.js"
import type { DataStore } from "../../services/DataStore.js"
import type { EventBroker } from "../../services/EventBroker.js"
import { HandlerRegistry } from "../../services/HandlerRegistry.js"
import { Scheduler } from "../../services/Scheduler.js"
import * as SchedulerLayer from "../../services/scheduler/layer.js"
import type { BenchStore } from "./stack.js"

const handlerScript = fileURLToPath(new URL("../../examples/testHandler.js", import.meta.url))
const token = Zmq.generateToken()

const storeLayer = (store: BenchStore): Layer.Layer<DataStore, SqliteStore.DatabaseRefused, EventBroker> =>
  store.kind === "memory"
    ? MemoryStore.layer
    : SqliteStore.layer({ filename: store.filename, synchronous: store.synchronous })

export interface RemoteStack {
  readonly endpoint: string
  /** Starts `count` more handler processes and waits until all of them are online. */
  readonly addHandlers: (count: number) => Effect.Effect<void>
  /** CPU seconds (user + system) the handler processes have used so far, together. */
  readonly handlerCpuS: () => number
}

/** CPU seconds a child process has used, from /proc (Linux); NaN where it cannot be read. */
const processCpuS = (pid: number | undefined): number => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "latin1")
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond
  } catch {
    return Number.NaN
  }
}
// USER_HZ, 100 on every Linux architecture Node runs on.
const clockTicksPerSecond = 100

const killOnClose = (scope: Scope.Scope, child: ChildProcess) =>
  Scope.addFinalizer(scope, Effect.sync(() => child.exitCode === null && child.kill("SIGKILL")))

export const withRemoteStack = <A, E, R>(
  store: BenchStore,
  options: { readonly maxConcurrentJobs: number; readonly handlerConcurrency: number },
  scenario: (stack: RemoteStack) => Effect.Effect<A, E, R>
) => {
  const registry = Zmq.layer({ endpoint: "tcp://127.0.0.1:0", credentials: { bench: token.hash } }).pipe(
    Layer.provide(Zmq.MemoryDirectory.layer)
  )
  const stack = SchedulerLayer.layer({ maxConcurrentJobs: options.maxConcurrentJobs, cleanupInterval: null }).pipe(
    Layer.provideMerge(Layer.mergeAll(Layer.provideMerge(storeLayer(store), LocalBroker.layer), registry))
  )
  return Effect.scoped(Effect.gen(function*() {
    const { endpoint } = yield* Zmq.ZmqRegistry
    const handlers = yield* HandlerRegistry
    const scope = yield* Effect.scope
    let started = 0
    const children: Array<ChildProcess> = []
    const online = Effect.map(handlers.list(), (list) =>
      (list.find((h) => h.id === "bench")?.instances ?? []).filter((i) => i.status === "online").length)
    const addHandlers = (count: number) =>
      Effect.gen(function*() {
        for (let i = 0; i < count; i++) {
          const child = spawn(process.execPath, [handlerScript], {
            stdio: ["ignore", "ignore", "inherit"],
            env: {
              ...process.env,
              SZ_ENDPOINT: endpoint,
              SZ_CREDENTIAL: token.token,
              SZ_HANDLER_ID: "bench",
              SZ_INSTANCE_ID: `bench-${++started}`,
              SZ_CONCURRENCY: String(options.handlerConcurrency)
            }
          })
          children.push(child)
          yield* killOnClose(scope, child)
        }
        while ((yield* online) < started) yield* Effect.sleep("20 millis")
      }).pipe(Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error("handlers did not come online") }), Effect.orDie)
    const scheduler = yield* Scheduler
    yield* Effect.orDie(scheduler.configureTask({ id: "bench", handler: "bench", method: "noop", maxRunningJobs: null }))
    const handlerCpuS = () => children.reduce((sum, child) => sum + processCpuS(child.pid), 0)
    return yield* scenario({ endpoint, addHandlers, handlerCpuS })
  }).pipe(Effect.provide(stack)))
}
