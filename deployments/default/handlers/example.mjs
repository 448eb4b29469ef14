// Example local handler module. Handler modules are plain ESM: every export is a
// handler definition { id, methods } (or a list of them); each method receives a
// context { args, kwargs, job, task, signal } and returns a value, a Promise or
// an Effect. A thrown error or rejected Promise fails the attempt (and retries
// it when the task has retries).

export default {
  id: "example",
  methods: {
    /**
     * Returns its message; the return value is the job's result. ScheduleZero
     * logs every finished job ("job finished", with task, schedule and outcome).
     */
    tick: ({ kwargs }) => ({ message: kwargs.message ?? "tick", at: new Date().toISOString() }),
    /** Waits `ms` milliseconds (stops early when the attempt is cancelled). */
    sleep: ({ kwargs, signal }) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => resolve("slept"), Number(kwargs.ms ?? 1000))
        signal.addEventListener("abort", () => {
          clearTimeout(timer)
          reject(new Error("cancelled"))
        })
      })
  }
}
