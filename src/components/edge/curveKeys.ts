/**
 * CURVE keys for the edge link, from a deployment's keys directory (written by
 * `keys generate`). The hub uses `keys/server.key` and admits the listed edges'
 * public keys (`curve_public_key`, else `keys/<edge id>.pub`), each bound to its edge id; an edge uses its
 * own pair `keys/<edge_id>.key|.pub` and the server's public key
 * (`server_public_key`, else `keys/server.pub`). Curve off: null, nothing read.
 */
import * as path from "node:path"
import { Effect } from "effect"
import type { EdgesSection } from "../../config/sections/edges.js"
import type { UpstreamSection } from "../../config/sections/upstream.js"
import { type KeyFileError, keysDir, readKey } from "../registry/zmq/keys.js"
import type { HubCurve } from "./Hub.js"
import type { UpstreamCurve } from "./Upstream.js"

export const hubCurveOf = (section: EdgesSection, deploymentDir: string): Effect.Effect<HubCurve | null, KeyFileError> =>
  Effect.gen(function* () {
    if (!section.curve) return null
    const dir = keysDir(deploymentDir)
    const secretKey = yield* readKey(path.join(dir, "server.key"))
    // each edge's key admits its connection and is bound to its id (proving it in the hello stands in for the token)
    const edgeKeys = yield* Effect.forEach(Object.entries(section.credentials), ([edgeId, credential]) =>
      Effect.map(
        credential.curvePublicKey === undefined ? readKey(path.join(dir, `${edgeId}.pub`)) : Effect.succeed(credential.curvePublicKey),
        (key) => [edgeId, key] as const
      )
    )
    return { secretKey, allowedPublicKeys: edgeKeys.map(([, key]) => key), edgeKeys: Object.fromEntries(edgeKeys) }
  })

export const upstreamCurveOf = (section: UpstreamSection, deploymentDir: string): Effect.Effect<UpstreamCurve | null, KeyFileError> =>
  Effect.gen(function* () {
    if (!section.curve) return null
    const dir = keysDir(deploymentDir)
    return {
      serverPublicKey: section.serverPublicKey ?? (yield* readKey(path.join(dir, "server.pub"))),
      publicKey: yield* readKey(path.join(dir, `${section.edgeId}.pub`)),
      secretKey: yield* readKey(path.join(dir, `${section.edgeId}.key`))
    }
  })
