/**
 * `keys generate`: CURVE key pairs for the ZeroMQ registry of a deployment,
 * written to `<deployment>/keys/` (secret keys readable by the owner only).
 * Only public keys are printed.
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { generateKeys, type GeneratedKeys } from "../components/registry/zmq/keys.js"
import { CliUsageError } from "./errors.js"
import { printJson } from "./client/command.js"
import { formatTable } from "./client/table.js"
import { helpWithExamples } from "./help.js"
import { DEFAULT_DEPLOYMENT } from "./runDeployment.js"

const publicKeys = (keys: GeneratedKeys) => [
  ...(keys.server === undefined ? [] : [["server", keys.server.publicKey] as const]),
  ...Object.entries(keys.handlers).map(([name, pair]) => [name, pair.publicKey] as const)
]

const generate = Command.make(
  "generate",
  {
    deployment: Options.text("deployment").pipe(
      Options.withDescription("Deployment directory; keys go to <deployment>/keys/"),
      Options.withDefault(DEFAULT_DEPLOYMENT)
    ),
    handlers: Options.text("handler").pipe(
      Options.withDescription("A handler process to make a key pair for (repeat for several)"),
      Options.repeated
    ),
    noServer: Options.boolean("no-server").pipe(Options.withDescription("Do not make the server key pair")),
    overwrite: Options.boolean("overwrite").pipe(Options.withDescription("Replace existing key files (else exit 2 when one exists)")),
    json: Options.boolean("json").pipe(Options.withDescription("Print JSON instead of a table"))
  },
  (flags) =>
    Effect.gen(function* () {
      if (flags.noServer && flags.handlers.length === 0) {
        return yield* new CliUsageError({ message: "nothing to generate: --no-server needs at least one --handler" })
      }
      const keys = yield* generateKeys({
        deploymentDir: flags.deployment,
        server: !flags.noServer,
        handlers: flags.handlers,
        overwrite: flags.overwrite
      }).pipe(Effect.mapError((error) => new CliUsageError({ message: error.message })))
      const pairs = publicKeys(keys)
      if (flags.json) {
        return yield* printJson({ dir: keys.dir, public_keys: Object.fromEntries(pairs) })
      }
      yield* Console.log(`wrote ${pairs.length} key pair(s) to ${keys.dir} (<name>.key secret, <name>.pub public)`)
      yield* Console.log(formatTable(["NAME", "PUBLIC KEY"], pairs.map(([name, key]) => [name, key])))
    })
).pipe(
  Command.withDescription(
    helpWithExamples(
      "Generate CURVE key pairs for the ZeroMQ handler registry: server.key/.pub and <handler>.key/.pub in <deployment>/keys/. " +
        "Existing files are kept unless --overwrite.",
      [
        "schedulezero keys generate --deployment deployments/default",
        "schedulezero keys generate --deployment deployments/default --handler billing --handler mailer --no-server"
      ]
    )
  )
)

export const keysCommand = Command.make("keys").pipe(
  Command.withDescription("Manage the CURVE keys of a deployment"),
  Command.withSubcommands([generate])
)
