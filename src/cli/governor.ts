/** `governor status`: the handler processes a running deployment supervises. */
import { Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { GovernorView } from "../components/portal/views.js"
import { printJson, withPortal } from "./client/command.js"
import { connectionOptions } from "./client/connection.js"
import { request } from "./client/http.js"
import { cell, formatTable, formatUptime } from "./client/table.js"
import { helpWithExamples } from "./help.js"

type Process = GovernorView["processes"][number]

const lastExit = (process: Process) =>
  process.last_exit === null ? "-" : `${process.last_exit.description} at ${process.last_exit.at}`

export const governorTable = (processes: ReadonlyArray<Process>): string =>
  formatTable(
    ["NAME", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT", "COMMAND"],
    processes.map((process) => [
      process.name,
      process.state,
      cell(process.pid),
      process.uptime_ms === null ? "-" : formatUptime(process.uptime_ms),
      String(process.restarts),
      lastExit(process),
      process.command.join(" ")
    ])
  )

const status = Command.make("status", connectionOptions, (flags) =>
  withPortal(flags, (portal) =>
    Effect.gen(function* () {
      const governor = yield* request(portal, "GET", "/api/governor", GovernorView)
      if (flags.json) return yield* printJson(governor)
      if (!governor.enabled) return yield* Console.log("this deployment runs no governor (it is part of full mode)")
      yield* Console.log(governorTable(governor.processes))
      for (const process of governor.processes) {
        if (process.gave_up !== null) yield* Console.log(`${process.name} gave up: ${process.gave_up}`)
      }
    })
  )
).pipe(
  Command.withDescription(
    helpWithExamples(
      "Show the handler processes the governor supervises: state (running, backoff, exited, gave-up, stopping, stopped), " +
        "pid, uptime, restarts and last exit.",
      ["schedulezero governor status", "schedulezero governor status --deployment deployments/default --json"]
    )
  )
)

export const governorCommand = Command.make("governor").pipe(
  Command.withDescription("Show the governed handler processes of a running deployment (through its portal)"),
  Command.withSubcommands([status])
)
