/**
 * The `events` config section: defaults, YAML keys, and bad values reported
 * at their key path with a message for the person editing the file.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ZmqBroker from "../../../src/components/broker/Zmq.js"
import { generateKeys } from "../../../src/components/registry/zmq/keys.js"
import { decodeConfigValue } from "../../../src/config/decode.js"
import { DeploymentConfig } from "../../../src/config/DeploymentConfig.js"

const decode = (input: unknown) => decodeConfigValue(DeploymentConfig, "config.yaml", input)

const issuesOf = (input: unknown) =>
  Effect.map(Effect.flip(decode(input)), (error) => error.issues.map((issue) => `${issue.path}: ${issue.message}`))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "sz-events-keys-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

describe("events config section", () => {
  it.effect("defaults to no stream, no peers and no notifiers", () =>
    Effect.gen(function* () {
      const config = yield* decode({})
      expect(config.events).toEqual({ publish: null, peers: [], highWaterMark: 10_000, curve: false, notifiers: [] })
    }))

  it.effect("reads endpoints, the high-water mark and notifier rules", () =>
    Effect.gen(function* () {
      const config = yield* decode({
        events: {
          publish: "tcp://0.0.0.0:0",
          peers: ["tcp://10.0.0.2:4243", "ipc:///run/sz/b.pub"],
          high_water_mark: 500,
          notifiers: [
            { name: "f", type: "discord", url: "https://discord.com/api/webhooks/1/x", topics: ["job.released.error"], include_retries: true, max_attempts: 3 },
            { name: "w", type: "webhook", url: "http://hooks.internal/sz", secret: "k", topics: [""], outcomes: ["error"], queue_size: 10 }
          ]
        }
      })
      expect(ZmqBroker.optionsFromConfig(config.events, "sched-a")).toEqual({
        publish: "tcp://0.0.0.0:0",
        peers: ["tcp://10.0.0.2:4243", "ipc:///run/sz/b.pub"],
        highWaterMark: 500,
        instanceId: "sched-a"
      })
      expect(config.events.notifiers[0]).toMatchObject({ type: "discord", includeRetries: true, maxAttempts: 3 })
      expect(config.events.notifiers[1]).toMatchObject({ type: "webhook", secret: "k", outcomes: ["error"], queueSize: 10 })
    }))

  it.effect("names each bad value at its key", () =>
    Effect.gen(function* () {
      const issues = yield* issuesOf({
        events: {
          publish: "localhost:4243",
          peers: ["tcp://10.0.0.2"],
          high_water_mark: 0,
          notifiers: [
            { name: "f", type: "discord", url: "discord.com/x", topics: ["Job"] },
            { name: "w", type: "webhook", url: "http://h/x", topics: ["job."], outcomes: ["failed"] }
          ]
        }
      })
      const text = issues.join("\n")
      expect(text).toContain("events.publish: expected a ZeroMQ endpoint such as tcp://127.0.0.1:4243 (or ipc://path), got 'localhost:4243'")
      expect(text).toContain("events.peers[0]: expected a ZeroMQ endpoint")
      expect(text).toContain("events.high_water_mark: expected a positive integer, got 0")
      expect(text).toContain("events.notifiers[0].url: expected an http:// or https:// URL, got 'discord.com/x'")
      expect(text).toContain("events.notifiers[0].topics[0]: expected a topic prefix such as job.released.error, got 'Job'")
      expect(text).toMatch(/events\.notifiers\[1\]\.secret: /)
      expect(text).toMatch(/events\.notifiers\[1\]\.outcomes\[0\]: expected one of success, error, .*got 'failed'/)
    }))

  it.scoped("curve: the server pair from keys/, peers always allowed, subscribers by key name or Z85 key; a missing file is named", () =>
    Effect.gen(function* () {
      const deploymentDir = yield* tempDir
      const keys = yield* generateKeys({ deploymentDir, server: true, handlers: ["viewer"] })
      const literal = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
      const config = yield* decode({ events: { publish: "tcp://127.0.0.1:0", curve: true, subscribers: ["viewer", literal] } })
      const options = yield* ZmqBroker.optionsFromDeployment(config.events, deploymentDir, "sched-a")
      expect(options.curve).toEqual({
        secretKey: keys.server!.secretKey,
        allowedPublicKeys: [keys.server!.publicKey, keys.handlers.viewer!.publicKey, literal]
      })
      expect(options.peerCurve).toEqual({ serverPublicKey: keys.server!.publicKey, ...keys.server! })
      const open = yield* decode({ events: { publish: "tcp://127.0.0.1:0", curve: true } })
      expect((yield* ZmqBroker.optionsFromDeployment(open.events, deploymentDir)).curve?.allowedPublicKeys).toBeNull()
      const missing = yield* decode({ events: { publish: "tcp://127.0.0.1:0", curve: true, subscribers: ["nobody"] } })
      const error = yield* Effect.flip(ZmqBroker.optionsFromDeployment(missing.events, deploymentDir))
      expect(error.message).toContain(`events.curve: ${join(deploymentDir, "keys", "nobody.pub")}`)
      expect(yield* issuesOf({ events: { publish: "tcp://127.0.0.1:0", subscribers: ["viewer"] } })).toEqual([
        "events.subscribers: subscribers is an allow-list of CURVE keys: it needs curve: true"
      ])
    }))
})
