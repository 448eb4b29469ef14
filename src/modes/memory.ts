/**
 * A mode for small machines (autonomous, on edge boxes) asks V8, as the last
 * step of starting, to favour a small heap over speed, and sheds what only the
 * start needed.
 *
 * Why: starting allocates a lot that lives only as long as the start (loading
 * and compiling modules, decoding config), and V8 answers by growing its
 * young generation to 32 MB, which it then keeps for the whole life of the
 * process although an idle scheduler allocates next to nothing. With
 * `--optimize-for-size` its memory reducer shrinks the young generation back
 * (within about ten seconds) and keeps it small: the edge-idle bench's RSS
 * drops by some 30 MB. The price, more frequent young-generation collections,
 * is paid only by these modes; the flag is set once the components run, so
 * loading and building them is as fast as in the other modes. (The heap's
 * initial size cannot be set from inside the process: V8 reads it when the
 * process starts.)
 *
 * The compiled code of everything that ran only to start (module bodies,
 * config decoding, migrations, layer construction, and what the build's code
 * cache compiled for other modes) stays in the heap until V8 finds it old,
 * which takes several full collections an idle process seldom has. So one
 * full collection at the end of the start flushes all bytecode and baseline
 * code not on the stack (V8's force-flush switch, on for that collection
 * only); a function that runs again is compiled again from its source when it
 * is next called. Later, baseline code ages out like bytecode does. The
 * collection costs some 45 ms of CPU once and saves 1.5-2 MB of heap.
 *
 * These modes also never turn on V8's optimizing compiler, which the loader
 * starts every process without (see there): an edge box's jobs run on
 * baseline code, some 6 MB of RSS less.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Effect } from "effect"

/**
 * V8's `gc` function. V8 puts it only in contexts made while --expose-gc is
 * set, so one throwaway context is made with the flag on (and it is set off
 * again at once: no other context gets it).
 */
const gcFunction = (): (() => void) => {
  setFlagsFromString("--expose-gc")
  try {
    return runInNewContext("gc")
  } finally {
    setFlagsFromString("--no-expose-gc")
  }
}

export const preferSmallHeap = Effect.sync(() => {
  setFlagsFromString("--optimize-for-size")
  setFlagsFromString("--flush-baseline-code")
  const gc = gcFunction()
  setFlagsFromString("--stress-flush-code")
  try {
    gc()
  } finally {
    setFlagsFromString("--no-stress-flush-code")
  }
})

/**
 * Turns V8's optimizing compiler back on (the loader starts every process
 * without it, src/cli/bundleLoader.ts), for the modes that are not small-heap:
 * their job loops, registry and portal serve load that optimized code is
 * worth its memory for. A small-heap mode keeps running on baseline code.
 */
export const optimizeHotCode = Effect.sync(() => setFlagsFromString("--max-opt=999"))
