/** Date trigger iteration: fires once at its run time. */
import { DateTrigger } from "./schema.js"

export const nextDate = (trigger: DateTrigger): { fireTime: Date | null; trigger: DateTrigger } =>
  trigger.completed
    ? { fireTime: null, trigger }
    : { fireTime: trigger.runTime, trigger: new DateTrigger({ ...trigger, completed: true }, true) }
