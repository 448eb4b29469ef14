/**
 * `init <dir> --mode=<mode>`: scaffolds a deployment directory — a commented
 * config.yaml for the mode and an example local handler module — ready for
 * `run --deployment=<dir>`. An existing non-empty config.yaml is never
 * overwritten (exit code 2).
 */
import { Args, Command, Options } from "@effect/cli"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Console, Effect } from "effect"
import { CONFIG_FILE_NAME } from "../config/load.js"
import { type ModeName, modeNames } from "../config/DeploymentConfig.js"
import { CliUsageError } from "./errors.js"

const header: Record<ModeName, string> = {
  minimal: `# minimal mode: scheduler + store + local handlers + portal; nothing on ZeroMQ.
# For a small VM, tests, embedding.`,
  autonomous: `# autonomous mode, for an edge box: scheduler + local SQLite + local handlers.
# Nothing listens (the portal is off unless enabled below) and nothing connects
# out: it keeps running its schedules with no network at all.`,
  full: `# full mode, for a server: scheduler + SQLite + local handlers + ZeroMQ
# handler registry + governed handler processes + event stream + portal.`
}

const storeSection: Record<ModeName, string> = {
  minimal: `store:
  type: memory                 # nothing survives a restart; for that:
  # type: sqlite
  # path: data/schedulezero.db`,
  autonomous: `store:
  type: sqlite
  path: data/schedulezero.db   # relative to this directory; created on first start
  synchronous: full            # every commit reaches the disk (power cuts)`,
  full: `store:
  type: sqlite
  path: data/schedulezero.db   # relative to this directory; created on first start`
}

const remoteHandlers = `  remote:
    endpoint: tcp://127.0.0.1:4242   # where handler processes connect; port 0 picks a free one
    # Each remote handler id needs a credential (the hash of its token):
    #   credentials: { billing: { token: "sha256:<64 hex>" } }
    # and its process gets the token in SZ_CREDENTIAL (docs/protocol.md).
    allow_unauthenticated: false`

const fullSections = `
# Handler processes this deployment starts, restarts (with backoff) and stops.
# Each gets SZ_ENDPOINT (the registry's bound endpoint) and SZ_HANDLER_SDK.
governor:
  processes: []
  # - name: billing
  #   command: node
  #   args: [handlers/billing.mjs]
  #   restart: on-failure          # never | on-failure | always
  #   max_restarts: 5              # within restart_window, then it gives up
  #   restart_window: 1m
  #   stop_grace_period: 10s       # SIGTERM, then SIGKILL

# Every scheduler event as [topic, JSON] on a ZeroMQ PUB socket (docs/events.md).
events:
  publish: tcp://127.0.0.1:4243    # null = no stream; port 0 picks a free one
`

const portalSection: Record<ModeName, string> = {
  minimal: `portal:
  host: 127.0.0.1     # loopback: without tokens the API is open to this machine only
  port: 8080          # 0 picks a free port (logged, and written to run/ports.json)
  # tokens: created with \`tokens create --role admin\``,
  full: `portal:
  host: 127.0.0.1     # loopback: without tokens the API is open to this machine only
  port: 8080          # 0 picks a free port (logged, and written to run/ports.json)
  # tokens: created with \`tokens create --role admin\``,
  autonomous: `# The portal is off in autonomous mode; for troubleshooting on the box:
# portal:
#   enabled: true
#   host: 127.0.0.1
#   port: 8080

# Upstream sync to a central server is not built yet (issue 7); there is no
# \`upstream\` section today.`
}

/** The commented config.yaml `init` writes for `mode`. */
export const configTemplate = (mode: ModeName): string =>
  `${header[mode]}
#   node dist/main.js --deployment=<this directory>
# Every key is described in README.md under "Configuration reference";
# SZ_<SECTION>_<KEY> environment variables override them (SZ_PORTAL_PORT=0).

mode: ${mode}

scheduler:
  max_concurrent_jobs: 100
  stop_grace_period: 10s     # running jobs get this long to finish at shutdown

${storeSection[mode]}

handlers:
  local:
    - handlers/example.mjs   # modules whose exports are handlers, relative to this directory
${mode === "full" ? remoteHandlers : ""}
${mode === "full" ? fullSections : ""}
tasks:
  - id: example-hello
    handler: example
    method: hello
    timeout: 30s

# Applied at every start: an unchanged entry keeps its stored schedule, a
# changed one replaces it.
schedules:
  - id: hello-every-minute
    task: example-hello
    trigger: { type: cron, expr: "* * * * *", timezone: UTC }
    kwargs: { name: "ScheduleZero" }

${portalSection[mode]}

logging:
  level: info          # trace | debug | info | warning | error
  format: pretty       # pretty | json
`.replace(/\n{3,}/g, "\n\n")

export const exampleHandler = `// A local handler module: every export is a handler definition { id, methods }
// (or a list of them). A method gets { args, kwargs, job, task, signal } and
// returns a value, a Promise or an Effect; throwing fails the attempt.
export default {
  id: "example",
  methods: {
    hello: ({ kwargs }) => ({ greeting: \`hello, \${kwargs.name ?? "world"}\`, at: new Date().toISOString() })
  }
}
`

/** Writes the deployment; refuses when `dir` already has a non-empty config.yaml. */
export const scaffold = Effect.fn("init")(function* (dir: string, mode: ModeName) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const configFile = path.join(dir, CONFIG_FILE_NAME)
  const existing = yield* fs.readFileString(configFile).pipe(Effect.orElseSucceed(() => ""))
  if (existing.trim() !== "") {
    return yield* new CliUsageError({ message: `${configFile} already exists; init never overwrites a deployment` })
  }
  const written = Effect.gen(function* () {
    yield* fs.makeDirectory(path.join(dir, "handlers"), { recursive: true })
    yield* fs.writeFileString(configFile, configTemplate(mode))
    const handler = path.join(dir, "handlers", "example.mjs")
    if (!(yield* fs.exists(handler))) yield* fs.writeFileString(handler, exampleHandler)
  })
  yield* written.pipe(
    Effect.mapError((error) => new CliUsageError({ message: `cannot create the deployment in ${dir}: ${error.message}` }))
  )
  return configFile
})

const dirArg = Args.directory({ name: "dir", exists: "either" }).pipe(
  Args.withDescription("The deployment directory to create (or an empty one)")
)
const modeOption = Options.choice("mode", modeNames).pipe(
  Options.withDescription("The mode the deployment runs in"),
  Options.withDefault("minimal" as ModeName)
)

export const initCommand = Command.make("init", { dir: dirArg, mode: modeOption }, ({ dir, mode }) =>
  Effect.flatMap(scaffold(dir, mode), (configFile) =>
    Console.log(`created ${configFile} (${mode} mode); start it with: node dist/main.js --deployment=${dir}`)
  )
).pipe(
  Command.withDescription(
    "Scaffold a deployment with a commented config: init deployments/edge-1 --mode=autonomous (never overwrites a config)"
  )
)
