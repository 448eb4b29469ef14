/**
 * The body of a schedule list page, as bytes. Each schedule's JSON is built
 * once per version of it (the index hands out the same object until the
 * schedule changes, and the same task object until the task does), so a page
 * costs copying its cached fragments, not building, stringifying and encoding
 * a view per row on every request.
 */
import type { Schedule } from "../../domain/Schedule.js"
import type { Task } from "../../domain/Task.js"
import { scheduleView } from "./views.js"

const fragments = new WeakMap<Schedule, { readonly task: Task | undefined; readonly json: Buffer }>()

const fragment = (schedule: Schedule, task: Task | undefined): Buffer => {
  const cached = fragments.get(schedule)
  if (cached !== undefined && cached.task === task) return cached.json
  const json = Buffer.from(JSON.stringify(scheduleView(schedule, task)), "utf8")
  fragments.set(schedule, { task, json })
  return json
}

const head = Buffer.from('{"schedules":[', "utf8")
const comma = Buffer.from(",", "utf8")

/** `{ schedules: [...views], next_cursor }` as UTF-8 JSON (the SchedulePage view). */
export const schedulePageBody = (
  page: ReadonlyArray<Schedule>,
  taskOf: (id: string) => Task | undefined,
  nextCursor: string | null
): Uint8Array => {
  const parts: Array<Buffer> = [head]
  for (const schedule of page) {
    if (parts.length > 1) parts.push(comma)
    parts.push(fragment(schedule, taskOf(schedule.taskId)))
  }
  parts.push(Buffer.from(`],"next_cursor":${JSON.stringify(nextCursor)}}`, "utf8"))
  return Buffer.concat(parts)
}
