/**
 * The handler the multi-process scheduler tests run, which reports every
 * attempt to a runs file (one JSON line per event, appended synchronously so
 * a SIGKILL loses nothing that was reported):
 * - `record` appends `{ event: "done", ... }` for the attempt and returns;
 * - `hangFirst` appends `{ event: "start" }`; attempt 1 then never finishes
 *   (the test kills the process), later attempts append "done" and return.
 */
import { appendFileSync } from "node:fs"
import * as LocalRegistry from "../../src/components/registry/Local.js"
import type { Job } from "../../src/domain/Job.js"

export const probeHandler = (runsFile: string, schedulerId: string) => {
  const report = (event: "start" | "done", job: Job) =>
    appendFileSync(
      runsFile,
      JSON.stringify({
        event,
        pid: process.pid,
        schedulerId,
        jobId: job.id,
        taskId: job.taskId,
        scheduleId: job.scheduleId,
        fireTime: job.scheduledFireTime?.getTime() ?? null,
        attempt: job.attempt
      }) + "\n"
    )

  return LocalRegistry.defineLocalHandler({
    id: "probe",
    methods: {
      record: ({ job }) => {
        report("done", job)
        return "ok"
      },
      hangFirst: ({ job, signal }) => {
        report("start", job)
        if (job.attempt > 1) {
          report("done", job)
          return "ok"
        }
        return new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted"))))
      }
    }
  })
}
