/**
 * Entry point for handler scripts: runs the handler until SIGINT/SIGTERM
 * (then stops gracefully), with connection settings from the options or the
 * environment:
 *   SZ_ENDPOINT (default tcp://127.0.0.1:4242), SZ_CREDENTIAL, SZ_INSTANCE_ID,
 *   SZ_CURVE_SERVER_KEY + SZ_CURVE_PUBLIC_KEY + SZ_CURVE_SECRET_KEY (Z85).
 * Exits non-zero when the server rejects the handler.
 */
import { NodeRuntime } from "@effect/platform-node"
import type { HandlerDefinition } from "./defineHandler.js"
import { type CurveClientKeys, runHandler, type RunHandlerOptions } from "./runHandler.js"

const curveFromEnv = (env: NodeJS.ProcessEnv): CurveClientKeys | null => {
  const serverPublicKey = env.SZ_CURVE_SERVER_KEY
  const publicKey = env.SZ_CURVE_PUBLIC_KEY
  const secretKey = env.SZ_CURVE_SECRET_KEY
  return serverPublicKey && publicKey && secretKey ? { serverPublicKey, publicKey, secretKey } : null
}

/** Connection settings from the environment (see the module comment). */
export const optionsFromEnv = (env: NodeJS.ProcessEnv = process.env): RunHandlerOptions => ({
  endpoint: env.SZ_ENDPOINT ?? "tcp://127.0.0.1:4242",
  credential: env.SZ_CREDENTIAL ?? null,
  curve: curveFromEnv(env),
  ...(env.SZ_INSTANCE_ID ? { instanceId: env.SZ_INSTANCE_ID } : {})
})

export const runHandlerMain = (handler: HandlerDefinition, options: Partial<RunHandlerOptions> = {}): void =>
  NodeRuntime.runMain(runHandler(handler, { ...optionsFromEnv(), ...options }))
