/**
 * Instances of Schema classes (jobs, schedules, events, results) built
 * without their constructors, for per-job paths (the memory store, the
 * scheduler's job and schedule loops).
 *
 * Even with validation off, a Schema class constructor copies its input three
 * times and walks the field defaults: about 8x slower than building the
 * object directly, and the scheduler and store make a job, a result and two
 * or three events for every job. The objects built here are what the
 * constructor would make from already-valid input: the class's prototype and
 * the same own fields.
 */

/** A copy of `instance` with some fields changed. */
export const withFields = <A extends object>(instance: A, fields: Partial<A>): A =>
  Object.assign(Object.create(Object.getPrototypeOf(instance)) as A, instance, fields)

/** A new instance of `Class` from every field it has (for a TaggedClass, `_tag` included). */
export const instanceOf = <A extends object>(Class: { readonly prototype: A }, fields: A): A =>
  Object.assign(Object.create(Class.prototype) as A, fields)
