/**
 * `edges list|schedules|assign|unassign|pause|resume`: the edges a running
 * server knows and the schedules assigned to them, through its portal
 * (docs/edge.md). An assignment reaches the edge when it is online; `list`
 * shows which version each edge runs.
 */
import { Args, Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { AssignedScheduleView, EdgeListView, EdgeSchedulesView, type EdgeView } from "../components/portal/edgesApi.js"
import { printJson, withPortal } from "./client/command.js"
import { type ConnectionFlags, connectionOptions } from "./client/connection.js"
import { request, requestNoContent } from "./client/http.js"
import { cell, formatTable } from "./client/table.js"
import { helpWithExamples } from "./help.js"
import { scheduleBodyOf, scheduleFlags } from "./schedules.js"

const edge = Args.text({ name: "edge" }).pipe(Args.withDescription("The edge's id (as in edges.credentials)"))
const scheduleId = Args.text({ name: "schedule-id" }).pipe(Args.withDescription("The schedule's id on the edge"))
const path = (edgeId: string, scheduleId?: string, action = "") =>
  `/api/edges/${encodeURIComponent(edgeId)}/schedules${scheduleId === undefined ? "" : `/${encodeURIComponent(scheduleId)}`}${action}`

const skew = (ms: number | null) => (ms === null ? "-" : `${ms > 0 ? "+" : ""}${ms} ms`)
const version = (edge: EdgeView) => `${edge.applied_version}/${edge.latest_version}${edge.in_sync ? "" : " (behind)"}`

const list = Command.make("list", { ...connectionOptions }, (flags) =>
  withPortal(flags, (portal) =>
    Effect.gen(function* () {
      const answer = yield* request(portal, "GET", "/api/edges", EdgeListView)
      if (flags.json) return yield* printJson(answer)
      if (answer.hub === null) return yield* Console.log("this deployment runs no edge hub (no edges configured)")
      yield* Console.log(
        formatTable(
          ["EDGE", "STATUS", "LAST SEEN", "BACKLOG", "SKEW", "ASSIGNED", "VERSION"],
          answer.edges.map((edge) => [
            edge.edge_id,
            edge.status,
            cell(edge.last_seen_at),
            cell(edge.backlog),
            skew(edge.clock_skew_ms),
            edge.assigned_paused === 0 ? String(edge.assigned) : `${edge.assigned} (${edge.assigned_paused} paused)`,
            version(edge)
          ])
        )
      )
    })
  )
).pipe(
  Command.withDescription(
    helpWithExamples(
      "List the edges the server knows: status, last seen, outbox backlog, clock skew, assigned schedules, and the assignment version each runs (applied/latest).",
      ["schedulezero edges list", "schedulezero edges list --json --url http://server:8080 --token $SZ_TOKEN"]
    )
  )
)

const schedules = Command.make("schedules", { ...connectionOptions, edge }, (flags) =>
  withPortal(flags, (portal) =>
    Effect.gen(function* () {
      const answer = yield* request(portal, "GET", path(flags.edge), EdgeSchedulesView)
      if (flags.json) return yield* printJson(answer)
      yield* Console.log(
        formatTable(
          ["ID", "HANDLER", "TRIGGER", "STATE", "VERSION"],
          answer.schedules.map((schedule) => [
            schedule.id,
            `${schedule.handler}.${schedule.method}`,
            schedule.trigger.description,
            schedule.paused ? "paused" : "active",
            `${schedule.version}${schedule.rejected !== null ? ` (rejected by the edge: ${schedule.rejected})` : schedule.applied ? "" : " (not on the edge yet)"}`
          ])
        )
      )
    })
  )
).pipe(
  Command.withDescription(
    helpWithExamples("List the schedules assigned to an edge. Exit code 3 when the server knows no such edge.", [
      "schedulezero edges schedules pump-7"
    ])
  )
)

const appliedNote = (schedule: AssignedScheduleView) =>
  schedule.applied ? "the edge runs it" : "the edge gets it when it is online"

const assign = Command.make(
  "assign",
  {
    ...connectionOptions,
    edge,
    scheduleId,
    ...scheduleFlags
  },
  (flags) =>
    Effect.gen(function* () {
      const body = yield* scheduleBodyOf(flags)
      return yield* withPortal(flags, (portal) =>
        Effect.gen(function* () {
          const schedule = yield* request(portal, "PUT", path(flags.edge, flags.scheduleId), AssignedScheduleView, { body })
          if (flags.json) return yield* printJson(schedule)
          yield* Console.log(
            `assigned ${schedule.id} (${schedule.handler}.${schedule.method}: ${schedule.trigger.description}) to edge ${flags.edge} as version ${schedule.version}; ${appliedNote(schedule)}`
          )
        })
      )
    })
).pipe(
  Command.withDescription(
    helpWithExamples(
      "Assign a schedule to an edge, or replace the one with this id. Give the trigger with exactly one of --cron, --interval, --date, --calendar or --trigger (JSON). Exit code 3 for an edge not in edges.credentials, 2 for invalid input.",
      [
        "schedulezero edges assign pump-7 read-meter --handler meter --method read --interval 5m",
        'schedulezero edges assign pump-7 nightly --handler pump --method flush --cron "0 2 * * *" --timezone Europe/Berlin --kwargs \'{"full": true}\''
      ]
    )
  )
)

const unassign = Command.make("unassign", { ...connectionOptions, edge, scheduleId }, (flags) =>
  withPortal(flags, (portal) =>
    Effect.gen(function* () {
      yield* requestNoContent(portal, "DELETE", path(flags.edge, flags.scheduleId))
      yield* flags.json
        ? printJson({ edge: flags.edge, unassigned: flags.scheduleId })
        : Console.log(`unassigned ${flags.scheduleId} from edge ${flags.edge}; the edge removes it when it is online`)
    })
  )
).pipe(
  Command.withDescription(
    helpWithExamples("Remove a schedule from an edge. Exit code 3 when it is not assigned there.", [
      "schedulezero edges unassign pump-7 read-meter"
    ])
  )
)

/** pause and resume: a POST answered with the schedule. */
const changeState = (
  flags: ConnectionFlags & { readonly edge: string; readonly scheduleId: string; readonly json: boolean },
  verb: "pause" | "resume"
) =>
  withPortal(flags, (portal) =>
    Effect.gen(function* () {
      const schedule = yield* request(portal, "POST", path(flags.edge, flags.scheduleId, `/${verb}`), AssignedScheduleView)
      if (flags.json) return yield* printJson(schedule)
      yield* Console.log(
        `${verb === "pause" ? "paused" : "resumed"} ${schedule.id} on edge ${flags.edge} as version ${schedule.version}; ${appliedNote(schedule)}`
      )
    })
  )

const pause = Command.make("pause", { ...connectionOptions, edge, scheduleId }, (flags) => changeState(flags, "pause")).pipe(
  Command.withDescription(
    helpWithExamples("Pause a schedule on an edge. Exit code 2 when it is paused already, 3 when it is not assigned there.", [
      "schedulezero edges pause pump-7 read-meter"
    ])
  )
)

const resume = Command.make("resume", { ...connectionOptions, edge, scheduleId }, (flags) =>
  changeState(flags, "resume")
).pipe(
  Command.withDescription(
    helpWithExamples(
      "Resume a paused schedule on an edge (fire times missed while paused are skipped). Exit code 2 when it is not paused.",
      ["schedulezero edges resume pump-7 read-meter"]
    )
  )
)

export const edgesCommand = Command.make("edges").pipe(
  Command.withDescription("The edges a running server knows, and the schedules assigned to them (through its portal)"),
  Command.withSubcommands([list, schedules, assign, unassign, pause, resume])
)
