/** `handlers list`: the handlers a running deployment knows, with their status. */
import { Command } from "@effect/cli"
import { Console, Effect, Schema } from "effect"
import { HandlerView } from "../components/portal/views.js"
import { printJson, withPortal } from "./client/command.js"
import { connectionOptions } from "./client/connection.js"
import { request } from "./client/http.js"
import { cell, formatTable } from "./client/table.js"
import { helpWithExamples } from "./help.js"

const HandlerList = Schema.Struct({ handlers: Schema.Array(HandlerView) })

export const handlerTable = (handlers: ReadonlyArray<HandlerView>): string =>
  formatTable(
    ["ID", "KIND", "STATUS", "INSTANCES", "IN FLIGHT", "LAST HEARTBEAT", "METHODS"],
    handlers.map((handler) => [
      handler.id,
      handler.kind,
      handler.status,
      handler.kind === "local" ? "-" : String(handler.instances.length),
      String(handler.in_flight),
      cell(handler.last_heartbeat),
      handler.methods.join(", ")
    ])
  )

const list = Command.make("list", connectionOptions, (flags) =>
  withPortal(flags, (portal) =>
    Effect.gen(function* () {
      const answer = yield* request(portal, "GET", "/api/handlers", HandlerList)
      yield* flags.json ? printJson(answer) : Console.log(handlerTable(answer.handlers))
    })
  )
).pipe(
  Command.withDescription(
    helpWithExamples("List handlers: local ones and remote (ZeroMQ) ones with their instances, status and methods.", [
      "schedulezero handlers list",
      "schedulezero handlers list --deployment deployments/edge --json"
    ])
  )
)

export const handlersCommand = Command.make("handlers").pipe(
  Command.withDescription("Show the handlers of a running deployment (through its portal)"),
  Command.withSubcommands([list])
)
