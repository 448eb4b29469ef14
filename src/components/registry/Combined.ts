/**
 * Local and remote handlers behind one HandlerRegistry: a handler id
 * registered in this process runs here, every other id goes to the remote
 * registry (which waits for an offline handler, or says it does not know it).
 */
import { Effect } from "effect"
import type { HandlerRegistryShape } from "../../services/HandlerRegistry.js"

export const make = (
  local: HandlerRegistryShape,
  isLocal: (handlerId: string) => boolean,
  remote: HandlerRegistryShape
): HandlerRegistryShape => {
  const localStart = local.start ?? local.run
  const remoteCallback = remote.startCallback
  return {
    validate: (handler, method) => (isLocal(handler) ? local.validate(handler, method) : remote.validate(handler, method)),
    run: (job, task) => (isLocal(task.handler) ? local.run(job, task) : remote.run(job, task)),
    start: (job, task) => (isLocal(task.handler) ? localStart(job, task) : (remote.start ?? remote.run)(job, task)),
    ...(remoteCallback === undefined ? {} : {
      startCallback: (job, task, onDone) => isLocal(task.handler) ? undefined : remoteCallback(job, task, onDone)
    }),
    list: () => Effect.map(Effect.all([local.list(), remote.list()]), ([here, there]) => [...here, ...there])
  }
}
