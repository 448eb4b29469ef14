/**
 * A mode for small machines (autonomous, on edge boxes) asks V8, once the
 * deployment has started, to favour a small heap over speed.
 *
 * Why: starting allocates a lot that lives only as long as the start (loading
 * and compiling modules, decoding config), and V8 answers by growing its
 * young generation to 32 MB, which it then keeps for the whole life of the
 * process although an idle scheduler allocates next to nothing. With
 * `--optimize-for-size` its memory reducer shrinks the young generation back
 * (within about ten seconds) and keeps it small: the edge-idle bench's RSS
 * drops by some 30 MB. The price, more frequent young-generation collections,
 * is paid only by these modes; the flag is set after startup so starting
 * stays as fast as in the other modes. (The heap's initial size cannot be
 * set from inside the process: V8 reads it when the process starts.)
 */
import { setFlagsFromString } from "node:v8"
import { Effect } from "effect"

export const preferSmallHeap = Effect.sync(() => setFlagsFromString("--optimize-for-size"))
