/** /api/executions: the execution log, when the deployment has one. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ExecutionLog, type ExecutionOutcome, executionOutcomes } from "../../../services/ExecutionLog.js"
import { FullApi } from "../Api.js"
import { apiError, BadRequest } from "../errors.js"
import { invalidParam, parseInstant } from "../params.js"
import { adminOnly } from "../security.js"
import { executionView, statsView } from "../views.js"

const parseOutcomes = (text: string | undefined) => {
  if (text === undefined || text.trim() === "") return Effect.succeed(undefined)
  const outcomes = text.split(",").map((outcome) => outcome.trim())
  const unknown = outcomes.find((outcome) => !executionOutcomes.includes(outcome as ExecutionOutcome))
  return unknown === undefined
    ? Effect.succeed(outcomes as ReadonlyArray<ExecutionOutcome>)
    : Effect.fail(invalidParam("outcome", `unknown outcome '${unknown}' (known: ${executionOutcomes.join(", ")})`))
}

const range = (params: { readonly from?: string; readonly to?: string }) =>
  Effect.gen(function* () {
    const from = yield* parseInstant("from", params.from)
    const to = yield* parseInstant("to", params.to)
    return { ...(from !== undefined && { from }), ...(to !== undefined && { to }) }
  })

/** The record filters shared by listing and pruning: handler, task, schedule, outcome. */
const recordFilter = (params: {
  readonly handler?: string
  readonly task?: string
  readonly schedule?: string
  readonly outcome?: string
}) =>
  Effect.map(parseOutcomes(params.outcome), (outcome) => ({
    ...(params.handler !== undefined && { handler: params.handler }),
    ...(params.task !== undefined && { taskId: params.task }),
    ...(params.schedule !== undefined && { scheduleId: params.schedule }),
    ...(outcome !== undefined && { outcome })
  }))

const parseCount = (name: string, text: string | undefined) => {
  if (text === undefined) return Effect.succeed(undefined)
  return /^\d{1,15}$/.test(text.trim())
    ? Effect.succeed(Number(text.trim()))
    : Effect.fail(invalidParam(name, `expected a non-negative integer, got '${text}'`))
}

const pageErrors = {
  InvalidCursor: () => Effect.fail(invalidParam("cursor", "not a cursor this API handed out")),
  InvalidPageSize: (error: { readonly message: string }) =>
    Effect.fail(apiError(BadRequest, "InvalidParameter", `limit: ${error.message}`, { field: "limit" }))
}

export const executionsGroup = HttpApiBuilder.group(FullApi, "executions", (handlers) =>
  Effect.gen(function* () {
    const log = yield* ExecutionLog
    const page = (query: Parameters<typeof log.query>[0]) =>
      log.query(query).pipe(
        Effect.map((result) => ({ executions: result.entries.map(executionView), next_cursor: result.nextCursor })),
        Effect.catchTags(pageErrors)
      )
    return handlers
      .handle("list", ({ urlParams }) =>
        Effect.gen(function* () {
          return yield* page({
            ...(yield* range(urlParams)),
            ...(yield* recordFilter(urlParams)),
            ...(urlParams.cursor !== undefined && { cursor: urlParams.cursor }),
            ...(urlParams.limit !== undefined && { limit: urlParams.limit })
          })
        })
      )
      .handle("stats", ({ urlParams }) =>
        Effect.gen(function* () {
          const stats = yield* log.stats({
            ...(yield* range(urlParams)),
            ...(urlParams.handler !== undefined && { handler: urlParams.handler }),
            ...(urlParams.task !== undefined && { taskId: urlParams.task })
          })
          return {
            overall: statsView(stats.overall),
            by_handler: stats.byHandler.map((entry) => ({ ...statsView(entry), handler: entry.handler })),
            by_task: stats.byTask.map((entry) => ({ ...statsView(entry), task_id: entry.taskId }))
          }
        })
      )
      .handle("prune", ({ urlParams }) =>
        adminOnly(
          Effect.gen(function* () {
            const before = yield* parseInstant("before", urlParams.before)
            const keepLast = yield* parseCount("keep_last", urlParams.keep_last)
            const filter = yield* recordFilter(urlParams)
            const retention =
              before !== undefined
                ? { before, ...(keepLast !== undefined && { keepLast }) }
                : keepLast !== undefined
                  ? { keepLast }
                  : undefined
            if (retention === undefined) {
              return yield* Effect.fail(
                invalidParam("before", "give before, keep_last or both (keep_last=0 deletes every matching record)")
              )
            }
            return yield* log.prune({ ...retention, filter }).pipe(
              Effect.catchTag("InvalidRetention", (error) =>
                Effect.fail(invalidParam(error.field === "keepLast" ? "keep_last" : "before", error.reason))
              )
            )
          })
        )
      )
      .handle("errors", ({ urlParams }) =>
        page({
          outcome: ["error", "timeout", "abandoned", "missed"],
          ...(urlParams.cursor !== undefined && { cursor: urlParams.cursor }),
          ...(urlParams.limit !== undefined && { limit: urlParams.limit })
        })
      )
  })
)
