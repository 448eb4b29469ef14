/**
 * parseRunFlags: a start with plain, valid flags runs without @effect/cli;
 * anything else is left to the `run` command line (undefined), which parses
 * it or reports the usage error (test/main covers those messages).
 */
import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import { DEFAULT_DEPLOYMENT, parseRunFlags } from "../../src/cli/runDeployment.js"

describe("parseRunFlags", () => {
  it("reads --name=value and --name value, defaulting what is not given", () => {
    expect(parseRunFlags(["--deployment=/srv/sz", "--mode", "full", "--log-format=json"])).toEqual({
      mode: Option.some("full"),
      deployment: "/srv/sz",
      logLevel: Option.none(),
      logFormat: Option.some("json")
    })
    expect(parseRunFlags([])).toEqual({
      mode: Option.none(),
      deployment: DEFAULT_DEPLOYMENT,
      logLevel: Option.none(),
      logFormat: Option.none()
    })
  })

  it("leaves to the command line an unknown flag or value, a repeated or valueless flag, and a positional argument", () => {
    for (const args of [
      ["--mode=tiny"],
      ["--log-level=loud"],
      ["--log-format=xml"],
      ["--port=1"],
      ["--mode=full", "--mode=minimal"],
      ["--deployment"],
      ["--deployment", "--mode=full"],
      ["deployments/x"],
      ["-h"]
    ]) {
      expect(parseRunFlags(args)).toBeUndefined()
    }
  })
})
