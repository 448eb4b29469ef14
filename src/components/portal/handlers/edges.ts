/** /api/edges: edges and their assigned schedules (read: viewer; assign, pause, resume, unassign: admin). */
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import {
  type AssignedEntry,
  type AssignmentConflict,
  type AssignmentNotFound,
  EdgeAssignments,
  type EdgeAssignmentsShape,
  type EdgeNotFound,
  type InvalidAssignment
} from "../../edge/assignments.js"
import { FullApi } from "../Api.js"
import { assignedScheduleView, edgeView } from "../edgesApi.js"
import { apiError, BadRequest, Conflict, fromDomain, NotFound } from "../errors.js"
import { adminOnly } from "../security.js"

const notFound = fromDomain(NotFound)

/** The service's errors as the API's. */
const answer = <A, R>(
  effect: Effect.Effect<A, EdgeNotFound | AssignmentNotFound | AssignmentConflict | InvalidAssignment, R>
): Effect.Effect<A, NotFound | Conflict | BadRequest, R> =>
  Effect.catchTags(effect, {
    EdgeNotFound: (error) => Effect.fail(notFound(error)),
    AssignmentNotFound: (error) => Effect.fail(notFound(error)),
    AssignmentConflict: (error) => Effect.fail(fromDomain(Conflict)(error)),
    InvalidAssignment: (error) =>
      Effect.fail(apiError(BadRequest, error._tag, error.message, { field: error.field, reason: error.reason }))
  })

export const edgesGroup = HttpApiBuilder.group(FullApi, "edges", (handlers) =>
  Effect.gen(function* () {
    const found = yield* Effect.serviceOption(EdgeAssignments)
    /** Runs `use` on the service; without an edge hub no edge exists. */
    const withHub = <A, E>(edgeId: string, use: (service: EdgeAssignmentsShape) => Effect.Effect<A, E>) =>
      Option.match(found, {
        onNone: () =>
          Effect.fail(
            apiError(NotFound, "EdgeNotFound", `edge '${edgeId}': this deployment runs no edge hub`, { edgeId })
          ),
        onSome: use
      })

    /** The schedule as the API shows it, with whether the edge runs its version yet. */
    const scheduleAnswer = (
      service: EdgeAssignmentsShape,
      edgeId: string,
      change: Effect.Effect<AssignedEntry, EdgeNotFound | AssignmentNotFound | AssignmentConflict | InvalidAssignment>
    ) =>
      answer(
        Effect.flatMap(change, (entry) =>
          Effect.map(service.edge(edgeId), (edge) => assignedScheduleView(entry, edge.appliedVersion))
        )
      )

    return handlers
      .handle("list", () =>
        Option.match(found, {
          onNone: () => Effect.succeed({ hub: null, edges: [] }),
          onSome: (service) =>
            Effect.map(service.edges, (edges) => ({ hub: { endpoint: service.endpoint }, edges: edges.map(edgeView) }))
        })
      )
      .handle("get", ({ path }) => withHub(path.id, (service) => answer(Effect.map(service.edge(path.id), edgeView))))
      .handle("schedules", ({ path }) =>
        withHub(path.id, (service) =>
          answer(
            Effect.map(service.schedules(path.id), ({ edge, schedules }) => ({
              edge_id: edge.edgeId,
              applied_version: edge.appliedVersion,
              latest_version: edge.latestVersion,
              schedules: schedules.map((entry) => assignedScheduleView(entry, edge.appliedVersion))
            }))
          )
        )
      )
      .handle("assign", ({ path, payload }) =>
        adminOnly(
          withHub(path.id, (service) =>
            scheduleAnswer(service, path.id, service.assign(path.id, path.scheduleId, payload))
          )
        )
      )
      .handle("pause", ({ path }) =>
        adminOnly(withHub(path.id, (service) => scheduleAnswer(service, path.id, service.pause(path.id, path.scheduleId))))
      )
      .handle("resume", ({ path }) =>
        adminOnly(withHub(path.id, (service) => scheduleAnswer(service, path.id, service.resume(path.id, path.scheduleId))))
      )
      .handle("unassign", ({ path }) =>
        adminOnly(withHub(path.id, (service) => answer(service.remove(path.id, path.scheduleId))))
      )
  })
)
