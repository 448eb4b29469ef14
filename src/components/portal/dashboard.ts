/**
 * Serves the dashboard: hand-written HTML, CSS and ES modules from ./ui (no
 * bundler, no CDN; everything works offline). Files are read once at start.
 * After `tsc` the module lives in dist/, where ./ui is copied by the build;
 * when it is not there (running from a checkout) the source folder is used.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"

const contentTypes: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  svg: "image/svg+xml",
  json: "application/json"
}

/** Where the dashboard's files are: beside this module, else in the source tree. */
export const uiDirectory = (): string => {
  const candidates = [new URL("./ui/", import.meta.url), new URL("../../../src/components/portal/ui/", import.meta.url)]
  for (const candidate of candidates) {
    const path = fileURLToPath(candidate)
    if (existsSync(`${path}index.html`)) return path
  }
  throw new Error(`dashboard files not found (looked in ${candidates.map((c) => fileURLToPath(c)).join(", ")})`)
}

interface Asset {
  readonly body: Uint8Array
  readonly contentType: string
}

const loadAssets = (directory: string): ReadonlyMap<string, Asset> => {
  const assets = new Map<string, Asset>()
  for (const name of readdirSync(directory)) {
    const extension = name.split(".").pop() ?? ""
    const contentType = contentTypes[extension]
    if (contentType !== undefined) assets.set(name, { body: readFileSync(`${directory}${name}`), contentType })
  }
  return assets
}

const serve = (asset: Asset) =>
  HttpServerResponse.uint8Array(asset.body, {
    contentType: asset.contentType,
    headers: { "cache-control": "no-cache" }
  })

/** Routes: / → index.html, /ui/<file> → the file. */
export const dashboardRoutes = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const assets = loadAssets(uiDirectory())
    const index = assets.get("index.html")
    if (index === undefined) return yield* Effect.dieMessage("dashboard index.html missing")
    yield* router.get("/", Effect.succeed(serve(index)))
    for (const [name, asset] of assets) yield* router.get(`/ui/${name}`, Effect.succeed(serve(asset)))
  })
)
