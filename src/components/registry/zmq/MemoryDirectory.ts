/** HandlerDirectory kept in process memory (tests, memory-store deployments). */
import { Effect, Layer } from "effect"
import { HandlerDirectory, type HandlerDirectoryShape, type HandlerInstanceRecord } from "../../../services/HandlerDirectory.js"

export const make = (): HandlerDirectoryShape => {
  const records = new Map<string, HandlerInstanceRecord>()
  return {
    save: (record) => Effect.sync(() => void records.set(record.instanceId, record)),
    list: () =>
      Effect.sync(() =>
        Array.from(records.values()).sort((a, b) =>
          a.handlerId === b.handlerId
            ? a.instanceId.localeCompare(b.instanceId)
            : a.handlerId.localeCompare(b.handlerId)
        )
      ),
    remove: (instanceId) => Effect.sync(() => void records.delete(instanceId))
  }
}

export const layer: Layer.Layer<HandlerDirectory> = Layer.sync(HandlerDirectory, make)
