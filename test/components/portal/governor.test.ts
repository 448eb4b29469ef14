/** GET /api/governor: the governed handler processes with a real governor, `enabled: false` without one. */
import { tmpdir } from "node:os"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import * as GovernorComponent from "../../../src/components/governor/Governor.js"
import { defaults } from "../../../src/components/governor/options.js"
import * as Portal from "../../../src/components/portal/Portal.js"
import { call, portalStack, testTokens, viewerToken } from "./harness.js"

const idler = {
  ...defaults,
  name: "idler",
  command: process.execPath,
  args: ["-e", "setInterval(() => {}, 60_000)"],
  env: {},
  cwd: tmpdir(),
  stopGracePeriod: Duration.seconds(5)
}

const status = Effect.flatMap(Portal.PortalServer, ({ url }) => call(url, "GET", "/api/governor", { token: viewerToken }))

describe("GET /api/governor", () => {
  it.live("lists the governed processes to a viewer", () =>
    Effect.gen(function* () {
      const reply = yield* status
      expect(reply.status).toBe(200)
      expect(reply.body.enabled).toBe(true)
      expect(reply.body.processes).toHaveLength(1)
      expect(reply.body.processes[0]).toMatchObject({
        name: "idler",
        command: [process.execPath, "-e", "setInterval(() => {}, 60_000)"],
        state: "running",
        restarts: 0,
        last_exit: null,
        gave_up: null
      })
      expect(reply.body.processes[0].pid).toBeGreaterThan(0)
      expect(reply.body.processes[0].started_at).toMatch(/^\d{4}-\d\d-\d\dT.*[+-]\d\d:\d\d$/)
    }).pipe(Effect.provide(portalStack({ tokens: testTokens }).pipe(Layer.provide(GovernorComponent.layer([idler])))))
  )

  it.live("answers enabled: false when the deployment has no governor", () =>
    Effect.gen(function* () {
      const reply = yield* status
      expect(reply.status).toBe(200)
      expect(reply.body).toEqual({ enabled: false, processes: [] })
    }).pipe(Effect.provide(portalStack({ tokens: testTokens })))
  )
})
