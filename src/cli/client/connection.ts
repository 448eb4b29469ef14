/**
 * Where the portal is and how to authenticate, from the flags every client
 * command takes. The URL is `--url`, else SZ_URL, else the portal entry of the
 * deployment's `run/ports.json` (written by a running deployment), else
 * http://127.0.0.1:8080. The token is `--token`, else SZ_TOKEN.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Options } from "@effect/cli"
import { Config, Effect, Option, Schema } from "effect"
import { PORTS_FILE, RUN_DIR } from "../../modes/portsFile.js"
import { DEFAULT_DEPLOYMENT } from "../runDeployment.js"
import { CliUsageError } from "../errors.js"

export const DEFAULT_URL = "http://127.0.0.1:8080"

export const connectionOptions = {
  url: Options.text("url").pipe(
    Options.withDescription(
      "Portal base URL (env SZ_URL; default: the portal in <deployment>/run/ports.json, else http://127.0.0.1:8080)"
    ),
    Options.withFallbackConfig(Config.string("SZ_URL")),
    Options.optional
  ),
  token: Options.text("token").pipe(
    Options.withDescription("Bearer token for the portal (env SZ_TOKEN); not needed by an open loopback portal"),
    Options.withFallbackConfig(Config.string("SZ_TOKEN")),
    Options.optional
  ),
  deployment: Options.text("deployment").pipe(
    Options.withDescription("Deployment whose run/ports.json tells the portal's URL"),
    Options.withDefault(DEFAULT_DEPLOYMENT)
  ),
  json: Options.boolean("json").pipe(Options.withDescription("Print JSON instead of a table"))
}

export interface ConnectionFlags {
  readonly url: Option.Option<string>
  readonly token: Option.Option<string>
  readonly deployment: string
}

/** A portal to talk to: `source` says where its URL came from, for messages. */
export interface PortalTarget {
  readonly url: string
  readonly source: string
  readonly token: Option.Option<string>
}

const PortsFile = Schema.parseJson(
  Schema.Struct({ portal: Schema.optional(Schema.Struct({ url: Schema.String })) })
)

/** The portal URL a running deployment recorded, if it recorded one. */
const recordedUrl = (deployment: string) =>
  Effect.gen(function* () {
    const file = path.join(deployment, RUN_DIR, PORTS_FILE)
    const text = yield* Effect.tryPromise(() => fs.readFile(file, "utf8")).pipe(Effect.option)
    if (Option.isNone(text)) return Option.none()
    const ports = yield* Schema.decode(PortsFile)(text.value).pipe(
      Effect.mapError(() => new CliUsageError({ message: `${file}: not a ports file ({ "portal": { "url": ... } })` }))
    )
    return Option.map(Option.fromNullable(ports.portal), (portal) => ({ url: portal.url, source: file }))
  })

const validUrl = (url: string, source: string) =>
  /^https?:\/\/[^/]+/.test(url)
    ? Effect.succeed(url.replace(/\/+$/, ""))
    : Effect.fail(new CliUsageError({ message: `${source}: expected an http(s) URL such as ${DEFAULT_URL}, got '${url}'` }))

export const resolveTarget = (flags: ConnectionFlags): Effect.Effect<PortalTarget, CliUsageError> =>
  Effect.gen(function* () {
    const chosen = Option.isSome(flags.url)
      ? { url: flags.url.value, source: "--url or SZ_URL" }
      : Option.getOrElse(yield* recordedUrl(flags.deployment), () => ({ url: DEFAULT_URL, source: "default URL" }))
    return { url: yield* validUrl(chosen.url, chosen.source), source: chosen.source, token: flags.token }
  })
