/** Child process for the cache tests: fills <cacheDir> for the given images with the fake source. */
import { FeatureCache } from "../../src/cache/index.js";
import { fakeSource } from "./fake-source.js";

process.env.SIMCLIP_QUIET = "1";
const [cacheDir, delayMs, batchSize, ...paths] = process.argv.slice(2);
const cache = await FeatureCache.open(cacheDir!, fakeSource({ delayMs: Number(delayMs), batchSize: Number(batchSize) }));
await cache.ensure(paths);
