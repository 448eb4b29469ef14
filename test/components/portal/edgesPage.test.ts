/**
 * The dashboard's edges view in a real browser (Debian's chromium driven by
 * playwright-core) against real processes: a full-mode server (portal + edge
 * hub on a SQLite store) and an autonomous edge process syncing with it, both
 * the built product. The view shows the configured edge never seen, a
 * schedule assigned to it while offline, then — without a reload — the edge
 * online with its outbox, clock skew and the assignment applied, and offline
 * when it stops; it lays out on a phone. A server without the hub says no
 * edges are configured.
 */
import { existsSync, mkdirSync } from "node:fs"
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { chromium, type Page } from "playwright-core"
import { buildProduct } from "../../main/buildProduct.js"
import { startWith, waitFor } from "../../main/process.js"
import { adminToken, call, deploymentDir, edgeConfig, hubServerConfig, viewerToken } from "../edge/harness.js"

const chromiumPath = "/usr/bin/chromium"
const shots = "test-results"

/** Starts the product on a deployment and returns its run/ports.json once written; stopped with the scope. */
const startDeployment = (dir: string) =>
  Effect.gen(function* () {
    const started = yield* startWith({}, `--deployment=${dir}`)
    const fs = yield* FileSystem.FileSystem
    const ports = yield* waitFor(
      `${dir}/run/ports.json`,
      fs.readFileString(`${dir}/run/ports.json`).pipe(
        Effect.map((text) => JSON.parse(text) as Record<string, { readonly url: string }>),
        Effect.orElseSucceed(() => undefined)
      )
    )
    return { ...started, ports }
  })

/** The server without its `edges` section: no hub. */
const serverWithoutHub = hubServerConfig.slice(0, hubServerConfig.indexOf("edges:"))

/** A headless chromium page, closed with the scope. */
const browserPage = Effect.acquireRelease(
  Effect.promise(async () => {
    mkdirSync(shots, { recursive: true })
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    })
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } })
    page.on("pageerror", (error) => console.error("page error:", error.message))
    return { browser, page }
  }),
  ({ browser }) => Effect.promise(() => browser.close())
)

const text = (page: Page, selector: string) => page.locator(selector).textContent()

/** Opens the portal's edges view and signs in with the viewer token (reading is all it needs). */
const openEdges = (page: Page, portal: string) =>
  Effect.promise(async () => {
    await page.goto(`${portal}/#edges`)
    await page.fill("#token-input", viewerToken)
    await page.click("#token-form button")
    await page.locator("#token-panel").waitFor({ state: "hidden" })
  })

describe.skipIf(!existsSync(chromiumPath))("edges view in chromium", () => {
  beforeAll(buildProduct, 300_000)

  it.scopedLive(
    "lists a real edge live: never seen, assigned a schedule, online with outbox, clock skew and the assignment applied, offline when it stops; phone layout",
    () =>
      Effect.gen(function* () {
        const server = yield* startDeployment(yield* deploymentDir(...hubServerConfig))
        const portal = server.ports.portal!.url
        const { page } = yield* browserPage
        const row = page.locator('#edges-table tr[data-edge="pump-7"]')
        const cells = () => Effect.promise(() => row.locator("td").allTextContents())
        yield* openEdges(page, portal)
        yield* Effect.promise(() => row.locator(".badge.b-never_seen").waitFor())
        expect(yield* cells()).toEqual(["pump-7never connected", "never seen", "never", "not reported0 dropped", "—", "none assigned"])

        // assigned while the edge has never been online: the open page shows it pending
        const assigned = yield* call(portal, adminToken, "PUT", "/api/edges/pump-7/schedules/read-often", {
          handler: "meter",
          method: "read",
          trigger: { type: "interval", seconds: 1 }
        })
        expect(assigned.status).toBe(200)
        yield* Effect.promise(() => row.locator(".badge.b-stale", { hasText: "behind" }).waitFor())
        expect((yield* cells())[5]).toBe("1 assignedruns v0 of v1 behind")

        const edge = yield* startDeployment(yield* deploymentDir(...edgeConfig(server.ports.edge_hub!.url)))
        yield* Effect.promise(() => row.locator(".badge.b-online").waitFor({ timeout: 20_000 }))
        yield* Effect.promise(() => row.locator("td", { hasText: "runs v1 (latest)" }).waitFor({ timeout: 20_000 }))
        const online = yield* cells()
        expect(online[0]).toMatch(/^pump-7connected \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/)
        expect(online[2]).toMatch(/^(just now|\d+s ago)\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/)
        expect(online[3]).toMatch(/^\d+ waiting0 dropped$/)
        // same machine, same clock: a few ms either way (the hello's one-way delay included)
        expect(online[4]).toMatch(/^(0 ms|\+\d{1,3} ms ahead|−\d{1,3} ms behind)$/)
        expect(online[5]).toBe("1 assignedruns v1 (latest)")
        expect(yield* Effect.promise(() => text(page, "#edges-summary"))).toBe("1 of 1 online")
        expect(yield* Effect.promise(() => page.locator("#edges-note").isHidden())).toBe(true)
        yield* Effect.promise(() => page.screenshot({ path: `${shots}/dashboard-edges.png`, fullPage: true }))

        yield* Effect.promise(() => page.setViewportSize({ width: 390, height: 844 }))
        // evaluated in the page (a string: this file is not compiled against the DOM)
        const layout = yield* Effect.promise(() =>
          page.evaluate(`({
            overflow: document.documentElement.scrollWidth - window.innerWidth,
            header: getComputedStyle(document.querySelector("#edges-table thead")).display,
            cell: getComputedStyle(document.querySelector("#edges-table td")).display
          })`)
        )
        expect(layout).toEqual({ overflow: 0, header: "none", cell: "block" })
        yield* Effect.promise(() => page.screenshot({ path: `${shots}/dashboard-edges-phone.png`, fullPage: true }))

        // the edge stops: the hub's sweep marks it offline and the open page shows it unprompted
        yield* edge.process.kill("SIGTERM")
        yield* edge.finished
        yield* Effect.promise(() => row.locator(".badge.b-offline").waitFor({ timeout: 20_000 }))
        expect(yield* Effect.promise(() => text(page, "#edges-summary"))).toBe("0 of 1 online")
      }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )

  it.scopedLive(
    "says no edges are configured on a server without the edge hub",
    () =>
      Effect.gen(function* () {
        const server = yield* startDeployment(yield* deploymentDir(...serverWithoutHub))
        const { page } = yield* browserPage
        yield* openEdges(page, server.ports.portal!.url)
        yield* Effect.promise(() => page.locator("#edges-note").waitFor({ state: "visible" }))
        expect(yield* Effect.promise(() => text(page, "#edges-note"))).toMatch(/^No edges configured/)
        expect(yield* Effect.promise(() => page.locator("#edges-panel").isHidden())).toBe(true)
        const overview = yield* Effect.promise(async () => {
          await page.click('#nav a[data-view="overview"]')
          return text(page, "#overview-cards")
        })
        expect(overview).not.toContain("Edges online")
      }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )
})
