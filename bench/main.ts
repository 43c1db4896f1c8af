/**
 * `npm run bench -- <name> [options]`: each benchmark lives in `bench/<name>.ts` and exports
 * `run(argv)`. Speed targets are reported as ratios to a reference measured in the same run.
 */
const benches: Record<string, () => Promise<{ run(argv: string[]): Promise<void> }>> = {
  cache: () => import("./cache.js"),
  clip: () => import("./clip.js"),
  fewshot: () => import("./fewshot.js"),
  metrics: () => import("./metrics.js"),
  train: () => import("./train.js"),
};

const [name, ...rest] = process.argv.slice(2);
const load = name === undefined ? undefined : benches[name];
if (load === undefined) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join("|")}> [options]\n`);
  process.exit(2);
}
await (await load()).run(rest);
