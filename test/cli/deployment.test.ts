/**
 * A client command finds a running deployment by itself: the minimal mode,
 * built from a deployment directory with port 0, writes run/ports.json and
 * `handlers list --deployment <dir>` (no --url) reaches its portal.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { loadDeployment } from "../../src/config/load.js"
import * as ComponentManager from "../../src/modes/ComponentManager.js"
import { runCli } from "./harness.js"

const handlerModule = `export default { id: "greeter", methods: { hello: () => "hi" } }\n`
const config = `mode: minimal
store: { type: sqlite }
portal: { host: 127.0.0.1, port: 0 }
handlers: { local: [handlers/greeter.mjs] }
logging: { level: warning }
`

describe("client commands and a running deployment", () => {
  it.scopedLive("read the portal's URL from <deployment>/run/ports.json", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-cli-deployment-" })
      yield* fs.makeDirectory(`${dir}/handlers`)
      yield* fs.writeFileString(`${dir}/handlers/greeter.mjs`, handlerModule)
      yield* fs.writeFileString(`${dir}/config.yaml`, config)
      const deployment = yield* loadDeployment(dir, { env: {} })
      yield* Layer.build(ComponentManager.layer(deployment))
      const listed = yield* runCli(["handlers", "list", "--deployment", dir])
      expect(listed).toMatchObject({ code: 0, stderr: "" })
      expect(listed.stdout).toMatch(/\ngreeter\s+local\s+online\s+-\s+0\s+-\s+hello$/)
      const tail = yield* runCli(["executions", "tail", "--deployment", dir])
      expect(tail).toMatchObject({ code: 0, stdout: "" })
    }).pipe(Effect.provide(NodeContext.layer)))
})
