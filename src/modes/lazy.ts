/**
 * A layer whose implementation module is imported only when the layer is
 * built, so a process loads only the components its mode runs (an edge box
 * in autonomous mode never loads the portal, ZeroMQ or the governor). A
 * module that cannot be loaded is a defect, which `component` reports by name.
 */
import { Effect, Layer } from "effect"

export const lazyLayer = <M, A, E, R>(
  load: () => Promise<M>,
  make: (module: M) => Layer.Layer<A, E, R>
): Layer.Layer<A, E, R> => Layer.unwrapEffect(Effect.map(Effect.promise(load), make))
