/**
 * Notifiers from a deployment's config.yaml, built by the ComponentManager
 * like `run` does: a job failing in a minimal-mode deployment (with the event
 * stream on) reaches the Discord-like server as a failure embed, and an event
 * subscriber sees the same failure on the stream.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as ZmqBroker from "../../../src/components/broker/Zmq.js"
import { loadDeployment } from "../../../src/config/load.js"
import * as ComponentManager from "../../../src/modes/ComponentManager.js"
import { Scheduler } from "../../../src/services/Scheduler.js"
import { receive, subscriber, until } from "../broker/zmqFixtures.js"
import { fakeWebhookServer } from "./fakeWebhook.js"

const failingModule = `
export default {
  id: "backup",
  methods: { run: () => { throw Object.assign(new Error("disk full"), { name: "DiskFull" }) } }
}
`

describe("notifiers in a deployment", () => {
  it.live("a failed job of a running deployment is posted to Discord and published on the stream", () =>
    Effect.gen(function* () {
      const server = yield* fakeWebhookServer({})
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-notify-" })
      yield* fs.writeFileString(path.join(dir, "backup.mjs"), failingModule)
      yield* fs.writeFileString(
        path.join(dir, "config.yaml"),
        [
          "mode: minimal",
          "portal: { enabled: false }",
          "handlers: { local: [backup.mjs] }",
          "tasks:",
          "  - { id: nightly-backup, handler: backup, method: run }",
          "events:",
          "  publish: tcp://127.0.0.1:0",
          "  notifiers:",
          "    - name: failures",
          "      type: discord",
          `      url: ${server.url("/hook")}`,
          "      topics: [job.released.error]",
          '      template: "{taskId} failed: {error.tag}: {error.message}"',
          ""
        ].join("\n")
      )
      const deployment = yield* loadDeployment(dir, { env: {} })
      const context = yield* Layer.build(ComponentManager.layer(deployment))
      // The mode's type names only the core services; the zmq broker is there because events.publish is set.
      const stream = yield* subscriber(Context.unsafeGet(context, ZmqBroker.ZmqBroker).endpoint!, ["job.released."])
      yield* until("the stream subscription", Effect.map(Context.unsafeGet(context, ZmqBroker.ZmqBroker).stats, (stats) =>
        (stats.publisher?.subscriptions.length ?? 0) > 0))

      yield* Context.get(context, Scheduler).addJob({ taskId: "nightly-backup" })
      yield* until("the notification", Effect.sync(() => server.received.length === 1))
      const embed = JSON.parse(server.received[0]!.body).embeds[0]
      expect(embed).toMatchObject({ title: "Job failed: nightly-backup", description: "nightly-backup failed: DiskFull: disk full" })
      const published = yield* receive(stream)
      expect(published.topic).toBe("job.released.error")
      expect(published.body.event).toMatchObject({ taskId: "nightly-backup", error: { tag: "DiskFull" } })
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))
})
