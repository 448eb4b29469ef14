/** The `governor` section of config.yaml: defaults, resolved paths, and errors naming the key. */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { fromConfig } from "../../../src/components/governor/options.js"
import { DeploymentConfig } from "../../../src/config/DeploymentConfig.js"
import { decodeConfigValue } from "../../../src/config/decode.js"

const decode = (governor: unknown) => decodeConfigValue(DeploymentConfig, "config.yaml", { governor })

describe("governor config section", () => {
  it.effect("takes the governor's defaults and resolves cwd against the deployment directory", () =>
    Effect.gen(function* () {
      const config = yield* decode({
        processes: [
          { name: "billing", command: "node", args: ["billing.js"], env: { PORT: 8080, DEBUG: true }, cwd: "handlers" },
          { name: "mailer", command: "./mailer", restart: "always", backoff: { initial: "500ms" }, max_restarts: 2, stop_grace_period: "3s" }
        ]
      })
      const [billing, mailer] = fromConfig(config.governor, "/srv/deployments/default")
      expect(billing).toMatchObject({
        name: "billing",
        command: "node",
        args: ["billing.js"],
        env: { PORT: "8080", DEBUG: "true" },
        cwd: "/srv/deployments/default/handlers",
        restart: "on-failure",
        maxRestarts: 5
      })
      expect(Duration.toMillis(billing!.stopGracePeriod)).toBe(10_000)
      expect(mailer).toMatchObject({ cwd: "/srv/deployments/default", restart: "always", maxRestarts: 2 })
      expect(Duration.toMillis(mailer!.backoff.initial)).toBe(500)
      expect(Duration.toMillis(mailer!.backoff.max)).toBe(30_000)
      expect(Duration.toMillis(mailer!.stopGracePeriod)).toBe(3000)
    }))

  it.effect("an absent section governs nothing", () =>
    Effect.map(decodeConfigValue(DeploymentConfig, "config.yaml", {}), (config) => expect(config.governor).toEqual({ processes: [] })))

  it.effect("bad entries are reported with their key paths", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        decode({
          processes: [
            { name: "a", command: "x", restart: "sometimes", max_restarts: -1 },
            { name: "b c", command: "" },
            { name: "d", command: "y", colour: "red" }
          ]
        })
      )
      expect(error.issues.map((issue) => `${issue.path}: ${issue.message}`)).toEqual([
        "governor.processes[0].restart: expected one of never, on-failure, always, got 'sometimes'",
        "governor.processes[0].max_restarts: expected a non-negative integer, got -1",
        "governor.processes[1].name: expected a name of letters, digits, '.', '_' or '-' (at most 64), got 'b c'",
        "governor.processes[1].command: expected a non-empty string, got ''",
        "governor.processes[2].colour: unknown key (expected one of: name, command, args, env, cwd, restart, backoff, max_restarts, restart_window, stop_grace_period, curve_keys)"
      ])
    }))

  it.effect("two processes may not share a name", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(decode({ processes: [{ name: "a", command: "x" }, { name: "a", command: "y" }] }))
      expect(error.message).toBe("config.yaml: governor.processes: process names must be unique: 'a' appears more than once")
    }))
})
