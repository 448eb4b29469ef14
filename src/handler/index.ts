/** The TypeScript SDK for remote handlers (protocol: docs/protocol.md). */
export {
  defineHandler,
  type HandlerContext,
  type HandlerDefinition,
  type HandlerMethod,
  type MethodDefinition
} from "./defineHandler.js"
export { optionsFromEnv, runHandlerMain } from "./main.js"
export {
  type CurveClientKeys,
  HandlerRejected,
  InvalidInstanceId,
  runHandler,
  type RunHandlerOptions
} from "./runHandler.js"
