/**
 * Declaring a remote handler for the TypeScript SDK: an id, its methods and
 * how many jobs it runs at once. A method gets the job's arguments and returns
 * a value, a Promise or an Effect (with no requirements); throwing, rejecting
 * or failing reports the error's tag (or name) and message to the server.
 */
export interface HandlerContext {
  readonly args: ReadonlyArray<unknown>
  readonly kwargs: Readonly<Record<string, unknown>>
  readonly jobId: string
  readonly attempt: number
  readonly method: string
  /** When the server will cancel this attempt; null = no timeout. */
  readonly deadline: Date | null
  /**
   * Aborted when the server cancels the attempt. Promise-returning methods
   * should stop on it: the cancellation is confirmed only once they settle.
   * Effect-returning methods are interrupted instead.
   */
  readonly signal: AbortSignal
}

export type HandlerMethod = (context: HandlerContext) => unknown

export interface MethodDefinition {
  readonly run: HandlerMethod
  /** JSON Schema of the kwargs, sent at registration and shown by the server. */
  readonly params?: Readonly<Record<string, unknown>>
}

export interface HandlerDefinition {
  readonly id: string
  readonly methods: Readonly<Record<string, HandlerMethod | MethodDefinition>>
  /** Jobs run at once by this process (default 1). */
  readonly concurrency?: number
}

export const defineHandler = <const H extends HandlerDefinition>(handler: H): H => handler

export const methodFunction = (entry: HandlerMethod | MethodDefinition): HandlerMethod =>
  typeof entry === "function" ? entry : entry.run

export const methodSpecs = (handler: HandlerDefinition): Array<{ name: string; params?: Record<string, unknown> }> =>
  Object.entries(handler.methods).map(([name, entry]) =>
    typeof entry === "function" || entry.params === undefined ? { name } : { name, params: { ...entry.params } }
  )
