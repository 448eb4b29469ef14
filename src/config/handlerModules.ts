/**
 * Loads the local handler modules a deployment lists under `handlers.local`.
 *
 * A handler module is plain ESM (e.g. `handlers/example.mjs`) that needs
 * nothing from ScheduleZero: each of its exports is a handler definition
 * `{ id, methods: { name: (ctx) => value | Promise | Effect } }` or a list of
 * them (`defineLocalHandler` from TypeScript produces exactly that shape).
 * Every export must be one, so nothing a module exports is silently ignored.
 */
import { pathToFileURL } from "node:url"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Effect, Predicate, Schema } from "effect"
import type { LocalHandler, LocalMethod } from "../components/registry/Local.js"
import { ConfigError } from "./ConfigError.js"
import { decodeConfigValue } from "./decode.js"
import { containing, expecting, NonEmptyText } from "./fields.js"
import type { Deployment } from "./load.js"

const Method = Schema.declare((value: unknown): value is LocalMethod => Predicate.isFunction(value)).pipe(
  expecting("a function")
)

const HandlerDefinition = Schema.Struct({
  id: NonEmptyText,
  methods: Schema.Record({ key: Schema.String, value: Method }).pipe(containing("a mapping of method names to functions"))
}).pipe(containing("a handler definition { id, methods } or a list of them"))

const HandlerDefinitions = Schema.Array(HandlerDefinition)

/** A handler with the module it came from (for messages). */
export interface LoadedHandler {
  readonly handler: LocalHandler
  readonly file: string
}

const importModule = (file: string, absolute: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const exists = yield* fs.exists(absolute).pipe(Effect.orElseSucceed(() => false))
    if (!exists) return yield* Effect.fail(ConfigError.about(file, "handler module not found"))
    return yield* Effect.tryPromise({
      try: () => import(pathToFileURL(absolute).href) as Promise<Record<string, unknown>>,
      catch: (error) =>
        ConfigError.about(file, `handler module failed to load: ${error instanceof Error ? error.message : String(error)}`)
    })
  })

/** Imports one module and validates its exports; `file` is how the module is named in messages. */
export const loadHandlerModule = Effect.fn("loadHandlerModule")(function* (file: string, absolute: string) {
  const module = yield* importModule(file, absolute)
  const names = Object.keys(module)
  if (names.length === 0) {
    return yield* Effect.fail(ConfigError.about(file, "exports no handler definitions"))
  }
  const handlers: Array<LocalHandler> = []
  for (const name of names) {
    // An export is one definition or a list of them. Decoding only validates:
    // the registry gets the module's own objects, not decoded copies.
    const exported = module[name]
    const values: ReadonlyArray<unknown> = Array.isArray(exported) ? exported : [exported]
    if (Array.isArray(exported)) yield* decodeConfigValue(HandlerDefinitions, file, exported, [name])
    else yield* decodeConfigValue(HandlerDefinition, file, exported, [name])
    handlers.push(...(values as ReadonlyArray<LocalHandler>))
  }
  return handlers
})

/** Loads every module listed under `handlers.local`; a handler id defined twice is an error naming both files. */
export const loadLocalHandlers = Effect.fn("loadLocalHandlers")(function* (deployment: Deployment) {
  const path = yield* Path.Path
  const loaded: Array<LoadedHandler> = []
  for (const relative of deployment.config.handlers.local) {
    const file = path.join(deployment.dir, relative)
    for (const handler of yield* loadHandlerModule(file, path.resolve(deployment.root, relative))) {
      const earlier = loaded.find((entry) => entry.handler.id === handler.id)
      if (earlier !== undefined) {
        return yield* Effect.fail(
          ConfigError.about(file, `handler id '${handler.id}' is already defined in ${earlier.file}`)
        )
      }
      loaded.push({ handler, file })
    }
  }
  return loaded
})
