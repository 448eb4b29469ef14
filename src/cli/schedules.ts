/**
 * `schedules list|add|rm|pause|resume|run`: manage the schedules of a running
 * deployment through its portal.
 */
import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Either, Option, Schema } from "effect"
import { RunFinishedView, RunQueuedView, SchedulePage, ScheduleView } from "../components/portal/views.js"
import { withPortal, printJson } from "./client/command.js"
import { type ConnectionFlags, connectionOptions } from "./client/connection.js"
import { JobDidNotSucceed } from "./client/errors.js"
import { type Query, request, requestNoContent } from "./client/http.js"
import { cell, formatTable } from "./client/table.js"
import { CliUsageError } from "./errors.js"
import { helpWithExamples } from "./help.js"
import { triggerFlags, triggerSpecOf } from "./triggers.js"

const text = (name: string, description: string) => Options.text(name).pipe(Options.withDescription(description), Options.optional)
const id = Args.text({ name: "id" }).pipe(Args.withDescription("The schedule's id"))
const path = (scheduleId: string, action = "") => `/api/schedules/${encodeURIComponent(scheduleId)}${action}`

const nextFire = (schedule: ScheduleView) => (schedule.paused ? "paused" : cell(schedule.next_fire_time))

export const scheduleTable = (schedules: ReadonlyArray<ScheduleView>): string =>
  formatTable(
    ["ID", "HANDLER", "TRIGGER", "NEXT FIRE"],
    schedules.map((schedule) => [
      schedule.id,
      schedule.handler === null ? schedule.task_id : `${schedule.handler}.${schedule.method}`,
      schedule.trigger.description,
      nextFire(schedule)
    ])
  )

const list = Command.make(
  "list",
  {
    ...connectionOptions,
    handler: text("handler", "Only schedules of this handler"),
    task: text("task", "Only schedules of this task"),
    paused: Options.choice("paused", ["true", "false"]).pipe(
      Options.withDescription("Only paused (true) or only active (false) schedules"),
      Options.optional
    ),
    limit: Options.integer("limit").pipe(Options.withDescription("Schedules per page (1-1000)"), Options.withDefault(100)),
    cursor: text("cursor", "Continue after the previous page (its next_cursor)")
  },
  (flags) =>
    withPortal(flags, (portal) =>
      Effect.gen(function* () {
        const page = yield* request(portal, "GET", "/api/schedules", SchedulePage, {
          query: {
            handler: Option.getOrUndefined(flags.handler),
            task: Option.getOrUndefined(flags.task),
            paused: Option.getOrUndefined(flags.paused),
            limit: flags.limit,
            cursor: Option.getOrUndefined(flags.cursor)
          }
        })
        if (flags.json) return yield* printJson(page)
        yield* Console.log(scheduleTable(page.schedules))
        if (page.next_cursor !== null) yield* Console.error(`more schedules follow: add --cursor ${page.next_cursor}`)
      })
    )
).pipe(
  Command.withDescription(
    helpWithExamples("List schedules (id, handler.method, trigger in words, next fire time), ordered by id.", [
      "schedulezero schedules list",
      "schedulezero schedules list --handler billing --paused false --url http://10.0.0.5:8080 --token $SZ_TOKEN",
      "schedulezero schedules list --json --limit 1000"
    ])
  )
)

/** Parses a JSON flag that must hold a value of the given kind. */
const jsonFlag = <A>(flag: string, value: Option.Option<string>, kind: "array" | "object") =>
  Option.match(value, {
    onNone: () => Either.right(undefined),
    onSome: (text) => {
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch (error) {
        return Either.left(new CliUsageError({ message: `--${flag}: not JSON: ${(error as Error).message}` }))
      }
      const ok = kind === "array" ? Array.isArray(parsed) : typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      return ok
        ? Either.right(parsed as A)
        : Either.left(new CliUsageError({ message: `--${flag}: expected a JSON ${kind}, got ${text}` }))
    }
  })

/** The flags that describe a schedule (here and in `edges assign`), for the portal's schedule body. */
export const scheduleFlags = {
  handler: Options.text("handler").pipe(Options.withDescription("Handler that runs the jobs")),
  method: Options.text("method").pipe(Options.withDescription("Method of the handler")),
  ...triggerFlags,
  json: connectionOptions.json,
  trigger: text("trigger", 'Any trigger as a TriggerSpec JSON, e.g. {"type":"cron","hour":9,"timezone":"Europe/Berlin"}'),
  taskId: text("task-id", "Task id (default <handler>.<method>)"),
  args: text("args", "Positional arguments as a JSON array, e.g. '[1, 2]'"),
  kwargs: text("kwargs", 'Keyword arguments as a JSON object, e.g. \'{"to": "ops"}\''),
  paused: Options.boolean("paused").pipe(Options.withDescription("Create it paused"))
}

type ScheduleFlags = {
  readonly [K in keyof typeof scheduleFlags]: (typeof scheduleFlags)[K] extends Options.Options<infer A> ? A : never
}

/** The request body the schedule flags describe (snake_case, as the portal takes it). */
export const scheduleBodyOf = (flags: ScheduleFlags) =>
  Effect.gen(function* () {
    const trigger = yield* triggerSpecOf({ ...flags, json: flags.trigger }, "--trigger")
    const args = yield* jsonFlag<ReadonlyArray<unknown>>("args", flags.args, "array")
    const kwargs = yield* jsonFlag<Record<string, unknown>>("kwargs", flags.kwargs, "object")
    return {
      handler: flags.handler,
      method: flags.method,
      trigger,
      ...(Option.isSome(flags.taskId) && { task_id: flags.taskId.value }),
      ...(args !== undefined && { args }),
      ...(kwargs !== undefined && { kwargs }),
      ...(flags.paused && { paused: true })
    }
  })

const add = Command.make(
  "add",
  {
    ...connectionOptions,
    ...scheduleFlags,
    id: text("id", "Schedule id (generated when left out)"),
    replace: Options.boolean("replace").pipe(Options.withDescription("Replace a schedule with the same id (else: conflict, exit 2)"))
  },
  (flags) =>
    Effect.gen(function* () {
      const body = {
        ...(Option.isSome(flags.id) && { id: flags.id.value }),
        ...(yield* scheduleBodyOf(flags)),
        ...(flags.replace && { conflict_policy: "replace" })
      }
      return yield* withPortal(flags, (portal) =>
        Effect.gen(function* () {
          const schedule = yield* request(portal, "POST", "/api/schedules", ScheduleView, { body })
          if (flags.json) return yield* printJson(schedule)
          yield* Console.log(
            `created schedule ${schedule.id} (${schedule.handler}.${schedule.method}): ${schedule.trigger.description}; next fire: ${nextFire(schedule)}`
          )
        })
      )
    })
).pipe(
  Command.withDescription(
    helpWithExamples(
      "Create a schedule. Give the trigger with exactly one of --cron, --interval, --date, --calendar or --trigger (JSON).",
      [
        'schedulezero schedules add --handler reports --method daily --cron "30 9 * * mon-fri" --timezone Europe/Berlin --id daily-report',
        "schedulezero schedules add --handler probe --method ping --interval 5m --kwargs '{\"host\": \"db1\"}'",
        'schedulezero schedules add --handler backup --method run --date 2026-12-24T18:00:00+01:00',
        "schedulezero schedules add --handler x --method y --trigger '{\"type\":\"or\",\"triggers\":[{\"type\":\"cron\",\"hour\":9},{\"type\":\"interval\",\"hours\":5}]}'"
      ]
    )
  )
)

const remove = Command.make("rm", { ...connectionOptions, id }, (flags) =>
  withPortal(flags, (portal) =>
    Effect.gen(function* () {
      yield* requestNoContent(portal, "DELETE", path(flags.id))
      yield* flags.json ? printJson({ removed: flags.id }) : Console.log(`removed schedule ${flags.id}`)
    })
  )
).pipe(
  Command.withDescription(
    helpWithExamples("Delete a schedule (its task stays). Exit code 3 when there is no such schedule.", [
      "schedulezero schedules rm daily-report"
    ])
  )
)

/** pause and resume: a POST answered with the schedule. */
const changeState = (
  flags: ConnectionFlags & { readonly id: string; readonly json: boolean },
  verb: "pause" | "resume",
  query: Query = {}
) =>
  withPortal(flags, (portal) =>
    Effect.gen(function* () {
      const schedule = yield* request(portal, "POST", path(flags.id, `/${verb}`), ScheduleView, { query })
      if (flags.json) return yield* printJson(schedule)
      yield* Console.log(`${verb === "pause" ? "paused" : "resumed"} schedule ${schedule.id}; next fire: ${nextFire(schedule)}`)
    })
  )

const pause = Command.make("pause", { ...connectionOptions, id }, (flags) => changeState(flags, "pause")).pipe(
  Command.withDescription(
    helpWithExamples("Pause a schedule: it fires no more until resumed.", ["schedulezero schedules pause daily-report"])
  )
)

const resume = Command.make(
  "resume",
  {
    ...connectionOptions,
    id,
    resumeFrom: text("resume-from", "now (default: skip fire times missed while paused), none (run them all) or an ISO-8601 instant")
  },
  (flags) => changeState(flags, "resume", { resume_from: Option.getOrUndefined(flags.resumeFrom) })
).pipe(
  Command.withDescription(
    helpWithExamples("Resume a paused schedule.", [
      "schedulezero schedules resume daily-report",
      "schedulezero schedules resume daily-report --resume-from none"
    ])
  )
)

const RunAnswer = Schema.Union(RunQueuedView, RunFinishedView)

const run = Command.make(
  "run",
  {
    ...connectionOptions,
    id,
    wait: text("wait", "Wait this long for the job to finish (500ms, 30s, 2m; at most 5m) and print its result")
  },
  (flags) =>
    withPortal(flags, (portal) =>
      Effect.gen(function* () {
        const answer = yield* request(portal, "POST", path(flags.id, "/run"), RunAnswer, {
          query: { wait: Option.getOrUndefined(flags.wait) }
        })
        if (flags.json) yield* printJson(answer)
        if (answer.status === "queued") {
          if (!flags.json) {
            yield* Console.log(
              Option.isSome(flags.wait)
                ? `job ${answer.job_id} is still queued or running after ${flags.wait.value}`
                : `queued job ${answer.job_id}`
            )
          }
          return
        }
        const { result } = answer
        if (!flags.json) {
          yield* Console.log(
            result.outcome === "success"
              ? `job ${answer.job_id} finished: success, returned ${JSON.stringify(result.return_value)}`
              : `job ${answer.job_id} finished: ${result.outcome}${result.error === null ? "" : ` (${result.error.tag}: ${result.error.message})`}`
          )
        }
        if (result.outcome !== "success") {
          return yield* new JobDidNotSucceed({ jobId: answer.job_id, outcome: result.outcome })
        }
      })
    )
).pipe(
  Command.withDescription(
    helpWithExamples(
      "Run a schedule's job now, with its arguments. With --wait, print the result; exit code 1 when the job did not succeed.",
      ["schedulezero schedules run daily-report", "schedulezero schedules run daily-report --wait 30s --json"]
    )
  )
)

export const schedulesCommand = Command.make("schedules").pipe(
  Command.withDescription("Manage the schedules of a running deployment (through its portal)"),
  Command.withSubcommands([list, add, remove, pause, resume, run])
)
