/**
 * `tokens create`: mints a portal bearer token. The token is printed once; the
 * config entry printed beside it keeps only its SHA-256, so config.yaml never
 * holds a usable secret.
 */
import { Command, Options } from "@effect/cli"
import { Console } from "effect"
import { createToken, describeNewToken } from "../components/portal/security.js"

const role = Options.choice("role", ["admin", "viewer"]).pipe(
  Options.withDescription("admin: every request; viewer: read-only requests")
)
const name = Options.text("name").pipe(
  Options.withDefault("cli"),
  Options.withDescription("a label for the token in config.yaml")
)

export const tokensCreateCommand = Command.make("create", { role, name }, ({ name, role }) =>
  Console.log(describeNewToken(role, name, createToken()))
).pipe(
  Command.withDescription(
    "Create a portal token: `tokens create --role admin --name ops` prints the token once and the " +
      "config.yaml entry (portal.tokens) holding its hash"
  )
)

export const tokensCommand = Command.make("tokens").pipe(
  Command.withDescription("Manage portal bearer tokens"),
  Command.withSubcommands([tokensCreateCommand])
)
