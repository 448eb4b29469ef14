/**
 * `executions tail`: the latest executions from the execution log, oldest
 * first, and with --follow every attempt released from then on, read from
 * the portal's event stream (subscribed before the history is read, so
 * nothing in between is lost; what both report is printed once).
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option, Schema, Stream } from "effect"
import { JobReleased, SchedulerEvent } from "../domain/events.js"
import { isoTime } from "../components/portal/time.js"
import { ExecutionPageView, type ExecutionView } from "../components/portal/views.js"
import { withPortal } from "./client/command.js"
import { connectionOptions, type PortalTarget } from "./client/connection.js"
import { PortalRefused, PortalUnreachable } from "./client/errors.js"
import { openEventStream, request } from "./client/http.js"
import { helpWithExamples } from "./help.js"

/** One released attempt, as printed (JSON keys as the API's). */
export interface ExecutionLine {
  readonly finished_at: string
  readonly outcome: string
  readonly task_id: string
  readonly schedule_id: string | null
  readonly job_id: string
  readonly attempt: number
  readonly will_retry: boolean
  readonly duration_ms: number | null
  readonly error: { readonly tag: string; readonly message: string } | null
}

const fromView = (view: ExecutionView): ExecutionLine => ({
  finished_at: view.finished_at,
  outcome: view.outcome,
  task_id: view.task_id,
  schedule_id: view.schedule_id,
  job_id: view.job_id,
  attempt: view.attempt,
  will_retry: view.will_retry,
  duration_ms: view.duration_ms,
  error: view.error
})

/** The execution log's outcome words (a timeout is an error tagged JobTimeout; a missed start deadline is "missed"). */
const outcomeOf = ({ error, outcome }: JobReleased): string => {
  if (outcome === "missed_start_deadline") return "missed"
  if (outcome === "error" || outcome === "deserialization_failed") return error?.tag === "JobTimeout" ? "timeout" : "error"
  return outcome
}

const fromEvent = (event: JobReleased): ExecutionLine => ({
  finished_at: isoTime(event.finishedAt),
  outcome: outcomeOf(event),
  task_id: event.taskId,
  schedule_id: event.scheduleId,
  job_id: event.jobId,
  attempt: event.attempt,
  will_retry: event.willRetry,
  duration_ms: event.startedAt === null ? null : event.finishedAt.getTime() - event.startedAt.getTime(),
  error: event.error === null ? null : { tag: event.error.tag, message: event.error.message }
})

export const formatLine = (line: ExecutionLine): string =>
  [
    line.finished_at,
    line.outcome.padEnd(9),
    line.task_id,
    `job ${line.job_id}#${line.attempt}`,
    line.duration_ms === null ? "-" : `${line.duration_ms}ms`,
    ...(line.schedule_id === null ? [] : [`schedule ${line.schedule_id}`]),
    ...(line.will_retry ? ["(will retry)"] : []),
    ...(line.error === null ? [] : [`${line.error.tag}: ${line.error.message}`])
  ].join("  ")

interface Filters {
  readonly task: Option.Option<string>
  readonly schedule: Option.Option<string>
  readonly outcome: Option.Option<string>
}

/** True when the filter is not given or `holds` for its value. */
const allows = (filter: Option.Option<string>, holds: (value: string) => boolean) =>
  Option.match(filter, { onNone: () => true, onSome: holds })

const matches = (filters: Filters, line: ExecutionLine) =>
  allows(filters.task, (task) => task === line.task_id) &&
  allows(filters.schedule, (schedule) => schedule === line.schedule_id) &&
  allows(filters.outcome, (outcomes) => outcomes.split(",").map((word) => word.trim()).includes(line.outcome))

const history = (portal: PortalTarget, filters: Filters, lines: number) =>
  request(portal, "GET", "/api/executions", ExecutionPageView, {
    query: {
      limit: lines,
      task: Option.getOrUndefined(filters.task),
      schedule: Option.getOrUndefined(filters.schedule),
      outcome: Option.getOrUndefined(filters.outcome)
    }
  }).pipe(
    Effect.map((page) => page.executions.map(fromView).reverse()),
    Effect.catchIf(
      (error) => error instanceof PortalRefused && error.tag === "RouteNotFound",
      () =>
        Effect.fail(
          new PortalRefused({
            status: 404,
            tag: "NoExecutionLog",
            reason: "this deployment keeps no execution log (it has one with the SQLite store); --follow shows new executions"
          })
        )
    )
  )

const decodeEvent = Schema.decodeUnknownOption(Schema.parseJson(SchedulerEvent))

const releasedLines = (portal: PortalTarget) =>
  Effect.map(openEventStream(portal, "/api/events", { types: "JobReleased" }), (frames) =>
    frames.pipe(
      Stream.filterMap((frame) => decodeEvent(frame.data)),
      Stream.filter((event): event is JobReleased => event instanceof JobReleased),
      Stream.map(fromEvent)
    )
  )

const tail = Command.make(
  "tail",
  {
    ...connectionOptions,
    lines: Options.integer("lines").pipe(
      Options.withAlias("n"),
      Options.withDescription("How many past executions to print first (0-1000)"),
      Options.withDefault(10)
    ),
    follow: Options.boolean("follow").pipe(
      Options.withAlias("f"),
      Options.withDescription("Keep printing executions as they finish (until Ctrl-C)")
    ),
    task: Options.text("task").pipe(Options.withDescription("Only this task's executions"), Options.optional),
    schedule: Options.text("schedule").pipe(Options.withDescription("Only this schedule's executions"), Options.optional),
    outcome: Options.text("outcome").pipe(
      Options.withDescription("Only these outcomes, comma-separated: success, error, timeout, cancelled, missed, abandoned"),
      Options.optional
    )
  },
  (flags) =>
    withPortal(flags, (portal) =>
      Effect.gen(function* () {
        const print = (line: ExecutionLine) => Console.log(flags.json ? JSON.stringify(line) : formatLine(line))
        // Subscribe before reading the history, so nothing released in between is missed.
        const live = flags.follow ? Option.some(yield* releasedLines(portal)) : Option.none()
        const past =
          flags.lines === 0
            ? []
            : yield* history(portal, flags, flags.lines).pipe(
                Effect.catchIf(
                  (error) => Option.isSome(live) && error instanceof PortalRefused && error.tag === "NoExecutionLog",
                  (error) => Effect.as(Console.error(error.reason), [])
                )
              )
        yield* Effect.forEach(past, print, { discard: true })
        if (Option.isNone(live)) return
        const printed = new Set(past.map((line) => `${line.job_id}#${line.attempt}`))
        yield* live.value.pipe(
          Stream.filter((line) => matches(flags, line) && !printed.has(`${line.job_id}#${line.attempt}`)),
          Stream.runForEach(print)
        )
        return yield* new PortalUnreachable({ url: portal.url, source: portal.source, reason: "the portal closed the event stream" })
      })
    )
).pipe(
  Command.withDescription(
    helpWithExamples(
      "Print the latest executions (oldest first); with --follow keep printing them as they finish, from the event stream. " +
        "--json prints one JSON object per line.",
      [
        "schedulezero executions tail",
        "schedulezero executions tail -n 50 --outcome error,timeout",
        "schedulezero executions tail --follow --task billing.charge --json"
      ]
    )
  )
)

export const executionsCommand = Command.make("executions").pipe(
  Command.withDescription("Follow the executions of a running deployment (through its portal)"),
  Command.withSubcommands([tail])
)
