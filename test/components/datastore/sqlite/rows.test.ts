import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { resultRow, JobResultFromRow } from "../../../../src/components/datastore/sqlite/rows.js"
import { JobId, TaskId } from "../../../../src/domain/ids.js"
import { JobError, JobResult } from "../../../../src/domain/JobResult.js"

const encode = Schema.encodeSync(JobResultFromRow)
const circular: Record<string, unknown> = {}
circular.self = circular

describe("sqlite rows", () => {
  it.each([
    ["a success with a JSON return value", { outcome: "success", returnValue: { n: 1, list: [1, "a"] }, error: null }],
    ["an error, no return value", { outcome: "error", returnValue: null, error: new JobError({ tag: "Boom", message: "it broke" }) }],
    ["a return value JSON cannot encode", { outcome: "success", returnValue: circular, error: null }],
    ["an undefined return value", { outcome: "success", returnValue: undefined, error: null }]
  ] as const)("resultRow encodes %s exactly as JobResultFromRow", (_, fields) => {
    const result = new JobResult({
      jobId: JobId.make("00000000-0000-4000-8000-000000000001"),
      taskId: TaskId.make("task"),
      attempt: 2,
      startedAt: new Date(1_000),
      finishedAt: new Date(2_000),
      expiresAt: new Date(3_000),
      ...fields
    })
    expect(resultRow(result)).toStrictEqual(encode(result))
  })
})
