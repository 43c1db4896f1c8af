/**
 * Methods by name, for `simclip eval --method NAME` and notebooks, read from the one list of methods
 * (`methods.ts`); options are validated against each method's declared schema before it is built.
 */
import { InvalidArgumentError } from "../errors.js";
import type { MethodContext, MethodDescriptor } from "./common/method.js";
import { validateMethodOptions, type MethodOptionSchema } from "./common/method-options.js";
import type { AnomalyMethod } from "./common/types.js";
import { METHODS } from "./methods.js";

export function methodNames(): string[] {
  return METHODS.map((m) => m.name).sort();
}

/** The descriptor of `name` (label, factory, options, role in the experiments). */
export function methodDescriptor(name: string): MethodDescriptor {
  const e = METHODS.find((m) => m.name === name);
  if (!e) throw new InvalidArgumentError(`unknown method "${name}"; known: ${methodNames().join(", ")}`);
  return e;
}

/** The options `name` accepts (key -> type, default, description); {} when it takes none. */
export async function methodOptionSchema(name: string): Promise<MethodOptionSchema> {
  const e = methodDescriptor(name);
  return e.options ? e.options() : {};
}

export async function createMethod(name: string, ctx: MethodContext): Promise<AnomalyMethod> {
  const e = methodDescriptor(name);
  if (ctx.overrides && !e.configOverrides) throw new InvalidArgumentError(`config overrides given for method "${name}", which takes none`);
  // Validated before the factory runs, so a typo fails before any weights are built.
  const options = validateMethodOptions(name, await methodOptionSchema(name), ctx.options);
  return e.create({ ...ctx, options });
}
