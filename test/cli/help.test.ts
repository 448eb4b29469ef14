/** Every command added for the CLI issue explains itself with examples. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { runCli } from "./harness.js"

const commands = [
  ["keys", "generate"],
  ["schedules", "list"],
  ["schedules", "add"],
  ["schedules", "rm"],
  ["schedules", "pause"],
  ["schedules", "resume"],
  ["schedules", "run"],
  ["handlers", "list"],
  ["executions", "tail"],
  ["governor", "status"],
  ["edges", "list"],
  ["edges", "schedules"],
  ["edges", "assign"],
  ["edges", "unassign"],
  ["edges", "pause"],
  ["edges", "resume"]
]

describe("--help", () => {
  it.live("every client and keys command prints its flags and examples", () =>
    Effect.forEach(commands, (command) =>
      Effect.gen(function* () {
        const help = yield* runCli([...command, "--help"])
        expect(help.code, command.join(" ")).toBe(0)
        expect(help.stdout, command.join(" ")).toContain("Examples:")
        expect(help.stdout, command.join(" ")).toContain(`schedulezero ${command.join(" ")}`)
      })
    ))
})
