/**
 * The example Discord handler as a real process: it registers with a zmq
 * registry, and its `announce` method posts to a local Discord-like server,
 * waiting out a 429 first; a refused post fails the job with
 * DiscordUndelivered.
 */
import { execFile, spawn } from "node:child_process"
import { mkdir, writeFile } from "node:fs/promises"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { HandlerRegistry } from "../../../src/services/HandlerRegistry.js"
import { until } from "../broker/zmqFixtures.js"
import { job, registryLayer, task } from "../registry/zmq/fixtures.js"
import * as Zmq from "../../../src/components/registry/Zmq.js"
import { fakeWebhookServer, rateLimited } from "./fakeWebhook.js"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..")
const outDir = join(root, "test-results", "discord-handler-dist")
const script = join(outDir, "examples", "discordHandler.js")

beforeAll(async () => {
  const tsconfig = join(root, "test-results", "tsconfig.discord-handler.json")
  await mkdir(dirname(tsconfig), { recursive: true })
  await writeFile(tsconfig, JSON.stringify({
    extends: "../tsconfig.build.json",
    compilerOptions: { outDir: "discord-handler-dist", rootDir: "../src" },
    include: [],
    files: ["../src/examples/discordHandler.ts"]
  }))
  await promisify(execFile)(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", tsconfig], { cwd: root })
}, 300_000)

const token = Zmq.generateToken()

const startHandler = (endpoint: string, webhookUrl: string, handlerId = "discord") =>
  Effect.acquireRelease(
    Effect.sync(() =>
      spawn(process.execPath, [script], {
        env: {
          ...process.env,
          SZ_ENDPOINT: endpoint,
          SZ_CREDENTIAL: token.token,
          SZ_DISCORD_WEBHOOK_URL: webhookUrl,
          SZ_HANDLER_ID: handlerId,
          SZ_DISCORD_BACKOFF_MS: "20",
          SZ_DISCORD_MAX_ATTEMPTS: "2"
        },
        stdio: ["ignore", "ignore", "inherit"]
      })
    ),
    (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
  )

describe("example Discord handler process", () => {
  it.live("announces through the webhook after a 429, and fails with DiscordUndelivered on a refusal", () =>
    Effect.gen(function* () {
      const server = yield* fakeWebhookServer({ "/ok": [rateLimited(0.05)], "/gone": [{ status: 404, body: { code: 10015 } }] })
      const { endpoint } = yield* Zmq.ZmqRegistry
      const registry = yield* HandlerRegistry
      const online = (id: string) => Effect.map(registry.list(), (list) => list.some((h) => h.id === id && h.status === "online"))

      yield* startHandler(endpoint, server.url("/ok"))
      yield* until("the handler registered", online("discord"))
      const announce = task("announce", { handler: "discord" })
      const result = yield* registry.run(job({ kwargs: { text: "Stand-up in 5", title: "Reminder" } }), announce)
      expect(result).toEqual({ delivered: true, attempts: 2 })
      expect(server.received).toHaveLength(2)
      expect(JSON.parse(server.received[1]!.body)).toEqual({
        embeds: [{ title: "Reminder", description: "Stand-up in 5", color: 0x5865f2 }],
        allowed_mentions: { parse: [] }
      })
      const missing = yield* Effect.exit(registry.run(job({ kwargs: {} }), announce))
      expect(Exit.isFailure(missing) && JSON.stringify(missing.cause)).toContain("InvalidArgument")

      yield* startHandler(endpoint, server.url("/gone"), "discord-gone")
      yield* until("the second handler registered", online("discord-gone"))
      const refused = yield* Effect.exit(registry.run(job({ kwargs: { text: "hi" } }), task("announce", { handler: "discord-gone" })))
      expect(Exit.isFailure(refused) && JSON.stringify(refused.cause)).toMatch(/DiscordUndelivered.*HTTP 404/)
    }).pipe(
      Effect.scoped,
      Effect.provide(registryLayer({ credentials: { discord: token.hash, "discord-gone": token.hash } }))
    ))
})
