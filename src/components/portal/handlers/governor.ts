/** /api/governor: the supervised handler processes (full mode); without a governor, `enabled: false`. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import { Governor } from "../../../services/Governor.js"
import { FullApi } from "../Api.js"
import { type GovernorView, governedProcessView } from "../views.js"

export const governorGroup = HttpApiBuilder.group(FullApi, "governor", (handlers) =>
  Effect.map(Effect.serviceOption(Governor), (governor) =>
    handlers.handle("status", () =>
      Option.match(governor, {
        onNone: () => Effect.succeed<GovernorView>({ enabled: false, processes: [] }),
        onSome: (service) =>
          Effect.map(service.status, (processes) => ({ enabled: true, processes: processes.map(governedProcessView) }))
      })
    )
  )
)
