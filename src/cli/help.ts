/** `--help` text of a command: what it does, then examples to copy. */
import { HelpDoc } from "@effect/cli"
import * as Span from "@effect/cli/HelpDoc/Span"

export const helpWithExamples = (summary: string, examples: ReadonlyArray<string>): HelpDoc.HelpDoc =>
  HelpDoc.blocks([
    HelpDoc.p(summary),
    HelpDoc.p(Span.strong("Examples:")),
    ...examples.map((example) => HelpDoc.p(Span.code(`  ${example}`)))
  ])
