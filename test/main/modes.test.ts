/**
 * Each mode started as a real process from its shipped deployment (a copy in
 * a temp dir, every port 0 through SZ_ overrides), doing the work it is for.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { buildProduct } from "./buildProduct.js"
import { startNode, startWith, waitFor } from "./process.js"
import { socketsOf } from "./sockets.js"

beforeAll(buildProduct, 300_000)

/** A private copy of deployments/<name>, without any data or run files a local start left there. */
const shippedCopy = (name: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: `sz-${name}-` })
    yield* fs.copy(`deployments/${name}`, dir, { overwrite: true })
    for (const generated of ["data", "run", "logs"]) yield* fs.remove(`${dir}/${generated}`, { recursive: true, force: true })
    return dir
  })

type Ports = Record<string, { readonly host: string; readonly port: number; readonly url: string }>

/** run/ports.json once the deployment has written it. */
const portsOf = (dir: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    waitFor(
      "run/ports.json",
      fs.readFileString(`${dir}/run/ports.json`).pipe(
        Effect.map((text) => JSON.parse(text) as Ports),
        Effect.orElseSucceed(() => undefined)
      )
    )
  )

const sockets = (pid: number) => Effect.promise(() => socketsOf(pid))

const getJson = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  })

const isAlive = (pid: number): boolean => {
  try {
    globalThis.process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe("modes as processes, from their shipped deployments", () => {
  it.scopedLive("full (deployments/default): a job runs on the governed ZeroMQ handler process, its result visible through the API", () =>
    Effect.gen(function* () {
      const dir = yield* shippedCopy("default")
      const { process, finished } = yield* startWith(
        { SZ_PORTAL_PORT: "0", SZ_HANDLERS_REMOTE_ENDPOINT: "tcp://127.0.0.1:0", SZ_EVENTS_PUBLISH: "tcp://127.0.0.1:0" },
        `--deployment=${dir}`
      )
      const ports = yield* portsOf(dir)
      expect(Object.keys(ports).sort()).toEqual(["event_pub", "portal", "zmq_router"])
      const { tcpListening } = yield* sockets(process.pid)
      const listening = tcpListening.map((socket) => Number.parseInt(socket.local.split(":")[1]!, 16)).sort()
      expect(listening).toEqual(Object.values(ports).map((address) => address.port).sort())
      const api = `${ports.portal!.url}/api`
      // The governor started the worker, which found the registry's real port through SZ_ENDPOINT.
      yield* waitFor(
        "the governed worker to register",
        Effect.map(getJson(`${api}/handlers/worker`), ({ body }) => (body.status === "online" ? true : undefined))
      )
      const created = yield* getJson(`${api}/schedules`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          id: "hello-worker",
          handler: "worker",
          method: "hello",
          trigger: { type: "interval", hours: 1 },
          paused: true,
          kwargs: { name: "test" }
        })
      })
      expect(created.status).toBe(201)
      const ran = yield* getJson(`${api}/schedules/hello-worker/run?wait=20s`, { method: "POST" })
      expect(ran.status).toBe(200)
      const result = ran.body.result as { outcome: string; return_value: { greeting: string; pid: number } }
      expect(result.outcome).toBe("success")
      expect(result.return_value.greeting).toBe("hello, test")
      // It ran in another process: the governed worker, which stops with the deployment.
      const workerPid = result.return_value.pid
      expect(workerPid).not.toBe(process.pid)
      expect(isAlive(workerPid)).toBe(true)
      const job = yield* getJson(`${api}/jobs/${ran.body.job_id}`)
      expect(job.body).toMatchObject({ status: "finished", result: { outcome: "success" } })
      yield* process.kill("SIGTERM")
      const { code, stderr } = yield* finished
      expect(stderr).toBe("")
      expect(code).toBe(0)
      expect(isAlive(workerPid)).toBe(false)
    }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )

  it.scopedLive("minimal (deployments/minimal): the portal on a free port runs a local-handler job", () =>
    Effect.gen(function* () {
      const dir = yield* shippedCopy("minimal")
      const { process, finished } = yield* startWith({ SZ_PORTAL_PORT: "0" }, `--deployment=${dir}`)
      const ports = yield* portsOf(dir)
      const portal = ports.portal!
      expect(Object.keys(ports)).toEqual(["portal"])
      // What the process listens on, read from /proc: exactly the portal.
      const { tcpListening } = yield* sockets(process.pid)
      expect(tcpListening.map((socket) => Number.parseInt(socket.local.split(":")[1]!, 16))).toEqual([portal.port])
      const response = yield* Effect.promise(() =>
        fetch(`${portal.url}/api/schedules/echo-every-5-minutes/run?wait=10s`, { method: "POST" })
      )
      expect(response.status).toBe(200)
      const body = (yield* Effect.promise(() => response.json())) as { status: string; result: { outcome: string; return_value: unknown } }
      expect(body.status).toBe("finished")
      expect(body.result.outcome).toBe("success")
      expect(body.result.return_value).toEqual({ args: [], kwargs: { greeting: "still here" } })
      yield* process.kill("SIGTERM")
      const { code, stderr } = yield* finished
      expect(stderr).toBe("")
      expect(code).toBe(0)
    }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )

  it.scopedLive("autonomous (deployments/edge): runs its schedule with no socket listening and none open to the network", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* shippedCopy("edge")
      // --trace-opt prints a line for every function V8 marks for its optimizing compiler.
      const { process, finished } = yield* startNode(["--trace-opt"], {}, `--deployment=${dir}`)
      expect(yield* portsOf(dir)).toEqual({})
      // The interval schedule fires at start: the handler appends a reading.
      const samples = yield* waitFor(
        "a sample",
        fs.readFileString(`${dir}/data/samples.jsonl`).pipe(
          Effect.map((text) => (text.trim() === "" ? undefined : text.trim().split("\n"))),
          Effect.orElseSucceed(() => undefined)
        )
      )
      expect(JSON.parse(samples[0]!)).toMatchObject({ job: expect.stringMatching(/^[0-9a-f-]{36}$/) })
      // While it runs: no TCP or UDP socket at all (listening or connected), no listening unix socket.
      const held = yield* sockets(process.pid)
      expect(held.inet).toEqual([])
      expect(held.unixListening).toBe(0)
      expect(yield* fs.exists(`${dir}/data/schedulezero.db`)).toBe(true)
      yield* process.kill("SIGTERM")
      const { code, stdout, stderr } = yield* finished
      expect(stderr).toBe("")
      expect(code).toBe(0)
      expect(stdout).toContain('"message":"no listening sockets"')
      // A small-heap mode never turns on the optimizing compiler the loader started it without.
      expect(stdout).toContain('"message":"ScheduleZero started"')
      expect(stdout).not.toContain("TURBOFAN")
      expect(yield* fs.exists(`${dir}/run/ports.json`)).toBe(false)
    }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )
})
