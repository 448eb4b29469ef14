/**
 * `node main.js events` as a real process against a real PUB socket: it
 * subscribes by prefix, prints JSON lines or pretty lines, reports gaps and
 * malformed messages on stderr, and refuses a bad endpoint with exit code 2.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as zmq from "zeromq"
import * as ZmqBroker from "../../src/components/broker/Zmq.js"
import { encodeBody, headerPrefix } from "../../src/components/broker/zmq/envelope.js"
import { generateKeys } from "../../src/components/registry/zmq/keys.js"
import { everyKind, jobAdded, jobReleased, until } from "../components/broker/zmqFixtures.js"
import { buildMain, startCli } from "./eventsProcess.js"

beforeAll(buildMain, 300_000)

const exitOf = (cli: { readonly exited: Promise<number | null> }) =>
  Effect.promise(() => cli.exited).pipe(Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("cli did not exit") }))

describe("events CLI", () => {
  it.live("prints the events of the filtered topics as JSON lines and exits after --count", () =>
    Effect.scoped(Effect.gen(function* () {
      const broker = yield* ZmqBroker.make({ publish: "tcp://127.0.0.1:0", instanceId: "sched-a" })
      const cli = yield* startCli("events", "--connect", broker.endpoint!, "--filter", "job.", "--json", "--count", "3")
      yield* until("the CLI subscribed", Effect.map(broker.stats, (s) => s.publisher?.subscriptions.includes("job.") ?? false))
      const failed = jobReleased("error")
      yield* broker.publishAll([everyKind[0]!, jobAdded(), failed, everyKind.find((event) => event._tag === "SchedulerStarted")!, jobAdded()])
      expect(yield* exitOf(cli)).toBe(0)
      const lines = cli.stdout().trim().split("\n").map((line) => JSON.parse(line))
      expect(lines.map((line) => [line.topic, line.seq, line.instance])).toEqual([
        ["job.added", 1, "sched-a"],
        ["job.released.error", 2, "sched-a"],
        ["job.added", 3, "sched-a"]
      ])
      expect(lines[1].event).toMatchObject({ _tag: "JobReleased", jobId: failed.jobId, error: { tag: "Timeout" } })
      expect(cli.stderr()).toBe("")
    })))

  it.live("prints pretty lines; reports gaps and malformed messages on stderr", () =>
    Effect.scoped(Effect.gen(function* () {
      const socket = yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const pub = new zmq.XPublisher({ linger: 0 })
          await pub.bind("tcp://127.0.0.1:0")
          return pub
        }),
        (pub) => Effect.sync(() => pub.close())
      )
      const cli = yield* startCli("events", "--connect", socket.lastEndpoint!, "--count", "2")
      yield* Effect.promise(() => socket.receive()) // its subscription
      const prefix = headerPrefix("edge-1", "run1")
      const failed = jobReleased("error")
      yield* Effect.promise(() => socket.send(["job.added", "{oops"]))
      yield* Effect.promise(() => socket.send(["job.added", encodeBody(prefix, 1, 1, jobAdded())]))
      yield* Effect.promise(() => socket.send(["job.released.error", encodeBody(prefix, 4, 1, failed)]))
      expect(yield* exitOf(cli)).toBe(0)
      const lines = cli.stdout().trim().split("\n")
      expect(lines[0]).toMatch(/^2026-03-01T12:00:00\.000Z edge-1#1 job\.added jobId=\S+ taskId=backup scheduleId=nightly$/)
      expect(lines[1]).toContain("edge-1#4 job.released.error")
      expect(lines[1]).toContain("outcome=error")
      expect(lines[1]).toContain("error=Timeout: took longer than 30s")
      expect(cli.stderr()).toContain("! dropped a malformed message (not_json)")
      expect(cli.stderr()).toContain("! missed 2 message(s) from edge-1")
    })))

  it.live("connects to a CURVE-protected stream with --server-key and --keys; a missing key file is a usage error", () =>
    Effect.scoped(Effect.gen(function* () {
      const deploymentDir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "sz-events-curve-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      )
      const keys = yield* generateKeys({ deploymentDir, server: true, handlers: ["viewer"] })
      const broker = yield* ZmqBroker.make({
        publish: "tcp://127.0.0.1:0",
        instanceId: "sched-a",
        curve: { secretKey: keys.server!.secretKey, allowedPublicKeys: [keys.handlers.viewer!.publicKey] }
      })
      const cli = yield* startCli(
        "events", "--connect", broker.endpoint!, "--json", "--count", "1",
        "--server-key", join(keys.dir, "server.pub"), "--keys", join(keys.dir, "viewer")
      )
      yield* until("the CLI subscribed", Effect.map(broker.stats, (s) => s.publisher?.subscriptions.includes("") ?? false))
      const added = jobAdded()
      yield* broker.publish(added)
      expect(yield* exitOf(cli)).toBe(0)
      expect(JSON.parse(cli.stdout()).event.jobId).toBe(added.jobId)
      const missing = yield* startCli("events", "--connect", broker.endpoint!, "--server-key", join(keys.dir, "server.pub"), "--keys", join(keys.dir, "nobody"))
      expect(yield* exitOf(missing)).toBe(2)
      expect(missing.stderr()).toContain(`--keys: ${join(keys.dir, "nobody.pub")}`)
    })))

  it.live("refuses a malformed endpoint with exit code 2", () =>
    Effect.scoped(Effect.gen(function* () {
      const cli = yield* startCli("events", "--connect", "localhost:4243")
      expect(yield* exitOf(cli)).toBe(2)
      expect(cli.stderr()).toContain("--connect: expected an endpoint such as tcp://127.0.0.1:4243, got 'localhost:4243'")
    })))
})
