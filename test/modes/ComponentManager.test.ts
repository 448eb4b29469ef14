import { createServer } from "node:net"
import type { AddressInfo } from "node:net"
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option, Schedule, Stream, TestClock } from "effect"
import { type Deployment, loadDeployment } from "../../src/config/load.js"
import type { SchedulerEvent } from "../../src/domain/events.js"
import * as ComponentManager from "../../src/modes/ComponentManager.js"
import { component } from "../../src/modes/component.js"
import { applyConfigSeed } from "../../src/modes/configSeed.js"
import { ComponentFailed } from "../../src/modes/StartupError.js"
import { BoundAddresses } from "../../src/modes/BoundAddresses.js"
import { DateTrigger } from "../../src/domain/triggers/schema.js"
import { hashToken } from "../../src/components/registry/zmq/credentials.js"
import { generateKeys } from "../../src/components/registry/zmq/keys.js"
import { defineHandler, runHandler } from "../../src/handler/index.js"
import { HandlerRegistry } from "../../src/services/HandlerRegistry.js"
import { Scheduler } from "../../src/services/Scheduler.js"

const handlerModule = `
export default {
  id: "greeter",
  methods: {
    greet: ({ kwargs }) => "hello " + kwargs.name,
    later: async () => 42
  }
}
`

/** A temp deployment with the greeter handler module and the given config lines. */
const deploymentWith = (...configLines: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-mode-" })
    yield* fs.writeFileString(path.join(dir, "greeter.mjs"), handlerModule)
    yield* fs.writeFileString(
      path.join(dir, "config.yaml"),
      ["handlers:", "  local: [greeter.mjs]", ...configLines, ""].join("\n")
    )
    return yield* loadDeployment(dir, { env: {} })
  })

/** A minimal-mode temp deployment with the portal on a free port (tests running at the same time never collide). */
const deployment = (...configLines: ReadonlyArray<string>) =>
  deploymentWith("mode: minimal", "portal: { port: 0 }", ...configLines)

const readPortsFile = (loaded: Deployment) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(`${loaded.root}/run/ports.json`)).pipe(
    Effect.map((text) => JSON.parse(text) as Record<string, { host: string; port: number; url: string }>)
  )

const isSuccessOf = (taskId: string) => (event: SchedulerEvent) =>
  event._tag === "JobReleased" && event.taskId === taskId && event.outcome === "success"

describe("ComponentManager", () => {
  it.scoped("builds minimal mode: local handlers from the deployment run jobs", () =>
    Effect.gen(function* () {
      const loaded = yield* deployment(
        "tasks:",
        "  - { id: greet, handler: greeter, method: greet }"
      )
      const context = yield* Layer.build(ComponentManager.layer(loaded))
      const scheduler = Context.get(context, Scheduler)
      const handlers = yield* Context.get(context, HandlerRegistry).list()
      expect(handlers.map((h) => [h.id, h.methods])).toEqual([["greeter", ["greet", "later"]]])
      const result = yield* scheduler.runJob({ taskId: "greet", kwargs: { name: "ada" } })
      expect(result.outcome).toBe("success")
      expect(result.returnValue).toBe("hello ada")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("applies tasks and schedules from config; applying the same file again keeps the stored schedule", () =>
    Effect.gen(function* () {
      const loaded = yield* deployment(
        "tasks:",
        "  - { id: later, handler: greeter, method: later }",
        "schedules:",
        "  - { id: every-minute, task: later, trigger: { type: interval, minutes: 1 } }"
      )
      const context = yield* Layer.build(ComponentManager.layer(loaded))
      const scheduler = Context.get(context, Scheduler)
      const schedules = yield* scheduler.getSchedules()
      expect(schedules.map((s) => s.id)).toEqual(["every-minute"])
      const successes = yield* scheduler.subscribe(isSuccessOf("later"))
      // The interval fired at its start while the mode was being built; then once a minute.
      for (const minute of [1, 2]) {
        yield* TestClock.adjust("1 minute")
        const [released] = yield* Stream.runCollect(Stream.take(successes, 1))
        expect(released?._tag === "JobReleased" && released.scheduledFireTime?.getTime()).toBe(minute * 60_000)
      }
      expect(Option.isSome(yield* scheduler.nextFireTime())).toBe(true)
      // A restart applies the same file again: still one schedule, and its trigger state is kept
      // (replacing it would restart the interval now and fire minute 2 a second time).
      yield* applyConfigSeed(loaded).pipe(Effect.provide(context))
      const [kept] = yield* scheduler.getSchedules()
      expect(kept?.id).toBe("every-minute")
      expect(kept?.nextFireTime?.getTime()).toBe(3 * 60_000)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("a changed config entry replaces the stored schedule", () =>
    Effect.gen(function* () {
      const lines = (minutes: number) => [
        "tasks:",
        "  - { id: later, handler: greeter, method: later }",
        "schedules:",
        `  - { id: every, task: later, trigger: { type: interval, minutes: ${minutes} } }`
      ]
      const first = yield* deployment(...lines(1))
      const context = yield* Layer.build(ComponentManager.layer(first))
      const scheduler = Context.get(context, Scheduler)
      yield* TestClock.adjust("30 seconds")
      yield* applyConfigSeed(yield* deployment(...lines(5))).pipe(Effect.provide(context))
      const [replaced] = yield* scheduler.getSchedules()
      expect(replaced?.trigger._tag === "IntervalTrigger" && replaced.trigger.minutes).toBe(5)
      expect(replaced?.nextFireTime?.getTime()).toBe(30_000)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("with a SQLite store the schedules survive a restart, and re-applying the config keeps one copy", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const loaded = yield* deployment(
        "store: { type: sqlite, path: data/sz.db }",
        "tasks:",
        "  - { id: later, handler: greeter, method: later }",
        "schedules:",
        "  - { id: hourly, task: later, trigger: { type: cron, minute: 0 } }"
      )
      /** Starts the deployment, runs `f` with its scheduler, stops it. */
      const runOnce = <A, E>(f: (scheduler: Scheduler["Type"]) => Effect.Effect<A, E>) =>
        Effect.scoped(
          Effect.flatMap(Layer.build(ComponentManager.layer(loaded)), (context) =>
            f(Context.get(context, Scheduler))
          )
        )
      // First run: the config's schedule, plus one added through the API.
      yield* runOnce((scheduler) =>
        scheduler.addSchedule({ id: "extra", taskId: "later", trigger: DateTrigger.make({ runTime: new Date(3_600_000) }) })
      )
      expect(yield* fs.exists(`${loaded.root}/data/sz.db`)).toBe(true)
      // Second run: the API's schedule was persisted; the config's is there once.
      const ids = yield* runOnce((scheduler) => scheduler.getSchedules())
      expect(ids.map((schedule) => schedule.id)).toEqual(["extra", "hourly"])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("a store that cannot open its database stops startup naming the store", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const loaded = yield* deployment("store: { type: sqlite, path: not-a-db.txt }")
      yield* fs.writeFileString(`${loaded.root}/not-a-db.txt`, "hello, I am a text file, not a database at all\n".repeat(20))
      const error = yield* Effect.flip(Layer.build(ComponentManager.layer(loaded)))
      expect(error._tag).toBe("ComponentFailed")
      expect(error.message).toMatch(/^store \(sqlite\): failed to start: database .*not-a-db\.txt is not a SQLite database/)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("a portal whose port is taken stops startup naming the portal", () =>
    Effect.gen(function* () {
      const server = createServer()
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => server.close())
      )
      const port = (server.address() as AddressInfo).port
      const loaded = yield* deployment()
      const taken = { ...loaded, config: { ...loaded.config, portal: { ...loaded.config.portal, port } } }
      const error = yield* Effect.flip(Layer.build(ComponentManager.layer(taken)))
      expect(error._tag).toBe("ComponentFailed")
      expect(error.message).toMatch(/^portal: failed to start: .*EADDRINUSE/)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("a task naming an unknown handler method is a config error at its key path", () =>
    Effect.gen(function* () {
      const loaded = yield* deployment("tasks:", "  - { id: t, handler: greeter, method: shout }")
      const error = yield* Effect.flip(Layer.build(ComponentManager.layer(loaded)))
      expect(error.message).toBe(`${loaded.configFile}: tasks[0].method: handler 'greeter' has no method 'shout'`)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("a schedule naming an unknown task is a config error at its key path", () =>
    Effect.gen(function* () {
      const loaded = yield* deployment("schedules:", "  - { id: s, task: nope, trigger: { type: interval, minutes: 1 } }")
      const error = yield* Effect.flip(Layer.build(ComponentManager.layer(loaded)))
      expect(error.message).toBe(`${loaded.configFile}: schedules[0].task: task 'nope' not found`)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("writes run/ports.json with the portal's bound port while running, and removes it at stop", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const loaded = yield* deployment()
      const ports = yield* Effect.scoped(
        Effect.gen(function* () {
          const context = yield* Layer.build(ComponentManager.layer(loaded))
          const bound = yield* Context.get(context, BoundAddresses).all
          const ports = yield* readPortsFile(loaded)
          expect(ports).toEqual(bound)
          return ports
        })
      )
      expect(Object.keys(ports)).toEqual(["portal"])
      expect(ports.portal?.port).toBeGreaterThan(0)
      expect(ports.portal?.url).toBe(`http://127.0.0.1:${ports.portal?.port}`)
      // The port was real while it ran; the file is gone once it stopped.
      expect(yield* fs.exists(`${loaded.root}/run/ports.json`)).toBe(false)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("autonomous mode: SQLite store by default, no portal unless configured, nothing listening", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const loaded = yield* deploymentWith("mode: autonomous", "tasks:", "  - { id: greet, handler: greeter, method: greet }")
      expect(loaded.config.store).toEqual({ type: "sqlite", path: "data/schedulezero.db" })
      const context = yield* Layer.build(ComponentManager.layer(loaded))
      const result = yield* Context.get(context, Scheduler).runJob({ taskId: "greet", kwargs: { name: "edge" } })
      expect(result.returnValue).toBe("hello edge")
      expect(yield* fs.exists(`${loaded.root}/data/schedulezero.db`)).toBe(true)
      expect(yield* readPortsFile(loaded)).toEqual({})
      // Switched on in config, the portal runs in autonomous mode too.
      const withPortal = yield* deploymentWith("mode: autonomous", "portal: { enabled: true, port: 0 }")
      const bound = yield* Context.get(yield* Layer.build(ComponentManager.layer(withPortal)), BoundAddresses).all
      expect(Object.keys(bound)).toEqual(["portal"])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("minimal mode without the portal reports nothing listening", () =>
    Effect.gen(function* () {
      const loaded = yield* deploymentWith("mode: minimal", "portal: { enabled: false }")
      expect(loaded.config.store).toEqual({ type: "memory" })
      yield* Layer.build(ComponentManager.layer(loaded))
      expect(yield* readPortsFile(loaded)).toEqual({})
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("the event stream runs where events.publish says unless events.enabled is false", () =>
    Effect.gen(function* () {
      const on = yield* deploymentWith("mode: autonomous", "events: { publish: 'tcp://127.0.0.1:0' }")
      const bound = yield* Effect.scoped(Effect.zipRight(Layer.build(ComponentManager.layer(on)), readPortsFile(on)))
      expect(Object.keys(bound)).toEqual(["event_pub"])
      const off = yield* deploymentWith("mode: autonomous", "events: { enabled: false, publish: 'tcp://127.0.0.1:0' }")
      const none = yield* Effect.scoped(Effect.zipRight(Layer.build(ComponentManager.layer(off)), readPortsFile(off)))
      expect(none).toEqual({})
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scopedLive("full mode: a remote handler on the ZeroMQ registry runs a job; the governor's process gets the bound endpoint", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-full-" })
      const endpointFile = `${dir}/endpoint.txt`
      // A governed process that writes the SZ_ENDPOINT it was given, then idles until stopped.
      const script = "require('fs').writeFileSync(process.argv[1], process.env.SZ_ENDPOINT); setInterval(() => {}, 1000)"
      const loaded = yield* deploymentWith(
        "  remote: { endpoint: 'tcp://127.0.0.1:0', allow_unauthenticated: true }",
        "mode: full",
        "portal: { port: 0 }",
        "events: { publish: 'tcp://127.0.0.1:0' }",
        "governor:",
        "  processes:",
        `    - { name: probe, command: ${JSON.stringify(process.execPath)}, args: ["-e", ${JSON.stringify(script)}, ${JSON.stringify(endpointFile)}] }`
      )
      expect(loaded.config.store.type).toBe("sqlite")
      const context = yield* Layer.build(ComponentManager.layer(loaded))
      const bound = yield* Context.get(context, BoundAddresses).all
      expect(Object.keys(bound).sort()).toEqual(["event_pub", "portal", "zmq_router"])
      const router = bound.zmq_router!.url
      expect(router).toMatch(/^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/)
      yield* Effect.forkScoped(
        runHandler(defineHandler({ id: "doubler", methods: { twice: ({ args }) => Number(args[0]) * 2 } }), { endpoint: router })
      )
      const registry = Context.get(context, HandlerRegistry)
      yield* registry.list().pipe(
        Effect.filterOrFail((handlers) => handlers.some((handler) => handler.id === "doubler" && handler.status === "online")),
        Effect.retry(Schedule.spaced("50 millis")),
        Effect.timeout("20 seconds")
      )
      const scheduler = Context.get(context, Scheduler)
      yield* scheduler.configureTask({ id: "twice", handler: "doubler", method: "twice" })
      const result = yield* scheduler.runJob({ taskId: "twice", args: [21] })
      expect(result.returnValue).toBe(42)
      const given = yield* fs.readFileString(endpointFile).pipe(
        Effect.retry(Schedule.spaced("50 millis")),
        Effect.timeout("20 seconds")
      )
      expect(given).toBe(router)
    }).pipe(Effect.provide(NodeContext.layer)),
    60_000
  )
})

describe("governor with CURVE", () => {
  const curveRegistry = (credentials: string) =>
    `  remote: { endpoint: 'tcp://127.0.0.1:0', curve: true, credentials: ${credentials} }`

  it.scopedLive("a governed process gets the registry's public key and its own key pair, which connect it", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const out = yield* fs.makeTempDirectoryScoped({ prefix: "sz-curve-probe-" })
      const keysFile = `${out}/keys.json`
      const token = "doubler-secret"
      // A governed process that writes the CURVE variables it was given, then idles until stopped.
      const script = [
        "const e = process.env",
        "require('fs').writeFileSync(process.argv[1], JSON.stringify([e.SZ_CURVE_SERVER_KEY, e.SZ_CURVE_PUBLIC_KEY, e.SZ_CURVE_SECRET_KEY]))",
        "setInterval(() => {}, 1000)"
      ].join("; ")
      const loaded = yield* deploymentWith(
        curveRegistry(`{ doubler: { token: '${hashToken(token)}' } }`),
        "mode: full",
        "portal: { enabled: false }",
        "governor:",
        "  processes:",
        `    - { name: probe, curve_keys: doubler, command: ${JSON.stringify(process.execPath)}, args: ["-e", ${JSON.stringify(script)}, ${JSON.stringify(keysFile)}] }`
      )
      const keys = yield* generateKeys({ deploymentDir: loaded.root, server: true, handlers: ["doubler"] })
      const context = yield* Layer.build(ComponentManager.layer(loaded))
      const given = yield* fs.readFileString(keysFile).pipe(Effect.retry(Schedule.spaced("50 millis")), Effect.timeout("20 seconds"))
      const [serverPublicKey, publicKey, secretKey] = JSON.parse(given) as [string, string, string]
      expect([serverPublicKey, publicKey, secretKey]).toEqual([
        keys.server?.publicKey,
        keys.handlers.doubler?.publicKey,
        keys.handlers.doubler?.secretKey
      ])
      // What the process was given is what it needs: the registry admits only allowed CURVE keys.
      const router = (yield* Context.get(context, BoundAddresses).all).zmq_router!.url
      yield* Effect.forkScoped(
        runHandler(defineHandler({ id: "doubler", methods: { twice: ({ args }) => Number(args[0]) * 2 } }), {
          endpoint: router,
          credential: token,
          curve: { serverPublicKey, publicKey, secretKey }
        })
      )
      const scheduler = Context.get(context, Scheduler)
      yield* scheduler.configureTask({ id: "twice", handler: "doubler", method: "twice" })
      const result = yield* Context.get(context, HandlerRegistry).list().pipe(
        Effect.filterOrFail((handlers) => handlers.some((handler) => handler.id === "doubler" && handler.status === "online")),
        Effect.retry(Schedule.spaced("50 millis")),
        Effect.timeout("20 seconds"),
        Effect.zipRight(scheduler.runJob({ taskId: "twice", args: [21] }))
      )
      expect(result.returnValue).toBe(42)
    }).pipe(Effect.provide(NodeContext.layer)),
    60_000
  )

  it.scoped("a missing key file stops startup, naming the governor and the file", () =>
    Effect.gen(function* () {
      const loaded = yield* deploymentWith(
        curveRegistry("{}"),
        "mode: full",
        "portal: { enabled: false }",
        "governor:",
        "  processes:",
        `    - { name: probe, command: ${JSON.stringify(process.execPath)}, args: ["-e", "setInterval(() => {}, 1000)"] }`
      )
      yield* generateKeys({ deploymentDir: loaded.root, server: true, handlers: [] })
      const failed = yield* Effect.flip(Layer.build(ComponentManager.layer(loaded)))
      expect(failed).toBeInstanceOf(ComponentFailed)
      expect(failed.message).toContain(`governor: failed to start: ${loaded.root}/keys/probe.pub: `)
    }).pipe(Effect.provide(NodeContext.layer))
  )
})

describe("component", () => {
  it.effect("a component that fails to start is named in the error, whatever it threw", () =>
    Effect.gen(function* () {
      const throwing = component("portal", Layer.effectDiscard(Effect.sync(() => {
        throw new Error("port 8888 already in use")
      })))
      const failed = yield* Effect.flip(Layer.build(throwing).pipe(Effect.scoped))
      expect(failed).toEqual(new ComponentFailed({ component: "portal", reason: "port 8888 already in use" }))
      expect(failed.message).toBe("portal: failed to start: port 8888 already in use")
    })
  )

  it.effect("an error that already names its component passes through unchanged", () =>
    Effect.gen(function* () {
      const inner = new ComponentFailed({ component: "store (sqlite)", reason: "database is locked" })
      const outer = component("scheduler", Layer.fail(inner))
      expect(yield* Effect.flip(Layer.build(outer).pipe(Effect.scoped))).toBe(inner)
    })
  )
})

describe("shipped deployments", () => {
  /** Every port 0, and no governed processes (those are tested as processes, test/main/modes.test.ts). */
  const inTests = {
    SZ_PORTAL_PORT: "0",
    SZ_HANDLERS_REMOTE_ENDPOINT: "tcp://127.0.0.1:0",
    SZ_EVENTS_PUBLISH: "tcp://127.0.0.1:0",
    SZ_GOVERNOR_ENABLED: "false"
  }
  for (const [name, mode] of [["default", "full"], ["minimal", "minimal"], ["edge", "autonomous"]] as const) {
    it.scoped(`deployments/${name} loads and starts in ${mode} mode with its handlers and schedules`, () =>
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        // A copy, so a SQLite file is not written into the repository.
        const dir = yield* fs.makeTempDirectoryScoped({ prefix: `sz-shipped-${name}-` })
        yield* fs.copy(`deployments/${name}`, dir, { overwrite: true })
        const loaded = yield* loadDeployment(dir, { env: inTests })
        expect(loaded.config.mode).toBe(mode)
        const context = yield* Layer.build(ComponentManager.layer(loaded))
        const scheduler = Context.get(context, Scheduler)
        const handlers = yield* Context.get(context, HandlerRegistry).list()
        expect(handlers.length).toBeGreaterThan(0)
        const schedules = yield* scheduler.getSchedules()
        expect(schedules.map((schedule) => schedule.id)).toEqual(loaded.config.schedules.map((entry) => entry.id))
      }).pipe(Effect.provide(NodeContext.layer))
    )
  }
})
