/**
 * The zmq registry against real handler processes (node dist of
 * src/examples/testHandler.ts): results, pools, SIGKILL, server restart,
 * timeouts with cancel, credentials.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"
import * as LocalBroker from "../../../../src/components/broker/Local.js"
import * as MemoryStore from "../../../../src/components/datastore/Memory.js"
import * as Zmq from "../../../../src/components/registry/Zmq.js"
import { type HandlerInfo, HandlerRegistry } from "../../../../src/services/HandlerRegistry.js"
import { Scheduler } from "../../../../src/services/Scheduler.js"
import * as SchedulerLayer from "../../../../src/services/scheduler/layer.js"
import { buildExamples, spawnHandler } from "../../../handler/processes.js"
import { job, registryLayer, task, token } from "./fixtures.js"

beforeAll(buildExamples, 300_000)

const handlerEnv = (endpoint: string, instanceId: string, extra: Record<string, string> = {}) => ({
  SZ_ENDPOINT: endpoint,
  SZ_CREDENTIAL: token,
  SZ_INSTANCE_ID: instanceId,
  ...extra
})

/** Polls the registry's listing until `done` holds for handler "test". */
const until = (done: (info: HandlerInfo) => boolean, what: string) =>
  Effect.gen(function*() {
    const registry = yield* HandlerRegistry
    for (let i = 0; i < 1000; i++) {
      const info = (yield* registry.list()).find((h) => h.id === "test")
      if (info !== undefined && done(info)) return info
      yield* Effect.sleep("10 millis")
    }
    return yield* Effect.dieMessage(`timed out waiting for: ${what}`)
  })

const onlineCount = (info: HandlerInfo) => (info.instances ?? []).filter((i) => i.status === "online").length

const schedulerOver = (registry: Layer.Layer<HandlerRegistry | Zmq.ZmqRegistry, Zmq.ZmqRegistryError>) =>
  SchedulerLayer.layer({ cleanupInterval: null, stopGracePeriod: "5 seconds" }).pipe(
    Layer.provideMerge(Layer.mergeAll(Layer.provideMerge(MemoryStore.layer, LocalBroker.layer), registry))
  )

const tempFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sz-zmq-")), "log.txt")

describe("zmq registry with handler processes", () => {
  it.scopedLive("runs jobs on a handler process and returns values and typed errors", () =>
    Effect.gen(function*() {
      const { endpoint } = yield* Zmq.ZmqRegistry
      const registry = yield* HandlerRegistry
      yield* spawnHandler(handlerEnv(endpoint, "p1"))
      yield* until((info) => onlineCount(info) === 1, "one instance online")
      const echoed = yield* registry.run(job({ args: [1, 2], kwargs: { a: "b" } }), task("echo"))
      expect(echoed).toMatchObject({ args: [1, 2], kwargs: { a: "b" }, instanceId: "p1" })
      const failed = yield* Effect.flip(registry.run(job({ kwargs: { tag: "Teapot", message: "short and stout" } }), task("fail")))
      expect(failed).toMatchObject({ _tag: "HandlerFailed", tag: "Teapot", message: "short and stout" })
      expect((yield* Effect.flip(registry.run(job(), task("nope"))))._tag).toBe("MethodNotFound")
      expect((yield* Effect.flip(registry.validate("test", "nope")))._tag).toBe("MethodNotFound")
      yield* registry.validate("test", "echo")
    }).pipe(Effect.provide(registryLayer())))

  it.scopedLive("balances a pool: the instance with the fewest in flight gets the next job", () =>
    Effect.gen(function*() {
      const { endpoint } = yield* Zmq.ZmqRegistry
      const registry = yield* HandlerRegistry
      yield* spawnHandler(handlerEnv(endpoint, "a", { SZ_CONCURRENCY: "3" }))
      yield* spawnHandler(handlerEnv(endpoint, "b", { SZ_CONCURRENCY: "3" }))
      yield* until((info) => onlineCount(info) === 2, "two instances online")
      // 6 long jobs fill both instances evenly; a 7th waits for a free slot instead of failing.
      const fibers = yield* Effect.forEach(
        Array.from({ length: 7 }),
        () => Effect.fork(registry.run(job({ kwargs: { ms: 400 } }), task("sleep"))),
        { concurrency: "unbounded" }
      )
      const busy = yield* until((info) => (info.instances ?? []).reduce((n, i) => n + i.inFlight, 0) === 6, "six in flight")
      expect((busy.instances ?? []).map((i) => i.inFlight)).toEqual([3, 3])
      const results = yield* Effect.forEach(fibers, (fiber) => fiber.await)
      expect(results.every(Exit.isSuccess)).toBe(true)
      const echoes = yield* Effect.forEach(Array.from({ length: 20 }), () => registry.run(job(), task("echo")), {
        concurrency: "unbounded"
      })
      const byInstance = new Set(echoes.map((e) => (e as { instanceId: string }).instanceId))
      expect(byInstance).toEqual(new Set(["a", "b"]))
    }).pipe(Effect.provide(registryLayer())))

  it.scopedLive("a handler killed mid-job ends the attempt with HandlerLost and the retry runs on another instance", () =>
    Effect.gen(function*() {
      const { endpoint } = yield* Zmq.ZmqRegistry
      const scheduler = yield* Scheduler
      const processes = {
        one: yield* spawnHandler(handlerEnv(endpoint, "one", { SZ_CONCURRENCY: "1" })),
        two: yield* spawnHandler(handlerEnv(endpoint, "two", { SZ_CONCURRENCY: "1" }))
      }
      yield* until((info) => onlineCount(info) === 2, "both online")
      const file = tempFile()
      yield* scheduler.configureTask({
        id: "logged",
        handler: "test",
        method: "log",
        retry: { maxAttempts: 2, backoffBaseMs: 0, jitter: false }
      })
      const resultFiber = yield* Effect.fork(scheduler.runJob({ taskId: "logged", kwargs: { file, ms: 1500 } }))
      const busy = yield* until((info) => (info.instances ?? []).some((i) => i.inFlight === 1), "job running")
      const victim = busy.instances!.find((i) => i.inFlight === 1)!.instanceId as "one" | "two"
      const survivor = victim === "one" ? "two" : "one"
      // Killed once the job is really running there, not merely sent.
      while (!(fs.existsSync(file) && fs.readFileSync(file, "utf8").startsWith("start"))) yield* Effect.sleep("10 millis")
      processes[victim].child.kill("SIGKILL")
      const result = yield* resultFiber
      expect(result.outcome).toBe("success")
      expect(result.attempt).toBe(2)
      const lines = fs.readFileSync(file, "utf8").trim().split("\n")
      expect(lines).toEqual([
        expect.stringMatching(new RegExp(`^start .* 1 ${victim}$`)),
        expect.stringMatching(new RegExp(`^start .* 2 ${survivor}$`)),
        expect.stringMatching(new RegExp(`^end .* 2 ${survivor}$`))
      ])
      const info = yield* until((i) => onlineCount(i) === 1, "victim offline")
      expect(info.instances?.find((i) => i.instanceId === victim)?.status).toBe("offline")
    }).pipe(Effect.provide(schedulerOver(registryLayer()))))

  it.scopedLive("a timed-out job is cancelled on the handler before its retry starts (no overlap)", () =>
    Effect.gen(function*() {
      const { endpoint } = yield* Zmq.ZmqRegistry
      const scheduler = yield* Scheduler
      yield* spawnHandler(handlerEnv(endpoint, "slow", { SZ_CONCURRENCY: "4" }))
      yield* until((info) => onlineCount(info) === 1, "online")
      const file = tempFile()
      yield* scheduler.configureTask({
        id: "slow",
        handler: "test",
        method: "log",
        timeoutMs: 200,
        retry: { maxAttempts: 2, backoffBaseMs: 0, jitter: false }
      })
      // Each attempt outlives the timeout, and its clean-up after the cancel takes 300 ms more.
      const result = yield* scheduler.runJob({ taskId: "slow", kwargs: { file, ms: 1000, cleanupMs: 300 } })
      expect(result.outcome).toBe("error")
      expect(result.error?.tag).toBe("JobTimeout")
      expect(result.attempt).toBe(2)
      const events = fs.readFileSync(file, "utf8").trim().split("\n").map((line) => line.split(" ").slice(0, 3).join(" "))
      const jobId = events[0]!.split(" ")[1]
      expect(events).toEqual([`start ${jobId} 1`, `cancelled ${jobId} 1`, `start ${jobId} 2`, `cancelled ${jobId} 2`])
    }).pipe(Effect.provide(schedulerOver(registryLayer()))))

  it.live("handlers reconnect and register again by themselves after the server restarts", () =>
    Effect.gen(function*() {
      const first = yield* Scope.make()
      const started = yield* Layer.buildWithScope(registryLayer(), first)
      const bound = (yield* Effect.provide(Zmq.ZmqRegistry, started)).endpoint
      const outer = yield* Scope.make()
      yield* Scope.extend(spawnHandler(handlerEnv(bound, "phoenix")), outer)
      yield* until((info) => onlineCount(info) === 1, "registered with the first server").pipe(Effect.provide(started))
      yield* Scope.close(first, Exit.void)
      // Same port, new server process state: the handler must come back on its own.
      const second = yield* Scope.make()
      const restarted = yield* Layer.buildWithScope(registryLayer({ endpoint: bound }), second)
      const registry = Effect.provide(HandlerRegistry, restarted)
      yield* until((info) => onlineCount(info) === 1, "registered with the restarted server").pipe(Effect.provide(restarted))
      const echoed = yield* Effect.flatMap(registry, (r) => r.run(job(), task("echo")))
      expect(echoed).toMatchObject({ instanceId: "phoenix" })
      yield* Scope.close(second, Exit.void)
      yield* Scope.close(outer, Exit.void)
    }))

  it.scopedLive("a handler with a wrong credential is rejected, logged and exits; it cannot take over an id", () =>
    Effect.gen(function*() {
      const { endpoint, stats } = yield* Zmq.ZmqRegistry
      const registry = yield* HandlerRegistry
      const owner = yield* spawnHandler(handlerEnv(endpoint, "owner"))
      yield* until((info) => onlineCount(info) === 1, "owner online")
      const intruder = yield* spawnHandler({ ...handlerEnv(endpoint, "intruder"), SZ_CREDENTIAL: "guess" })
      const stranger = yield* spawnHandler({ ...handlerEnv(endpoint, "stranger"), SZ_HANDLER_ID: "not-configured" })
      // Posing as the owner's very instance: ZeroMQ refuses a second connection with its routing id.
      yield* spawnHandler({ ...handlerEnv(endpoint, "owner"), SZ_CREDENTIAL: "guess" })
      expect(yield* Effect.promise(() => intruder.exited)).not.toBe(0)
      expect(intruder.output()).toContain("bad_credential")
      expect(yield* Effect.promise(() => stranger.exited)).not.toBe(0)
      expect(stranger.output()).toContain("unknown_handler")
      expect((yield* stats).rejected).toBeGreaterThanOrEqual(2)
      const info = yield* until(() => true, "listing")
      expect(info.instances?.map((i) => i.instanceId)).toEqual(["owner"])
      const echoes = yield* Effect.forEach(Array.from({ length: 10 }), () => registry.run(job(), task("echo")))
      expect(new Set(echoes.map((e) => (e as { pid: number }).pid))).toEqual(new Set([owner.child.pid]))
    }).pipe(Effect.provide(registryLayer())))
})
