/**
 * `simclip serve`: a local page to try SimCLIP / SimCLIP+ on your own images (src/serve/). Without
 * --model it serves the demo backbone and the SimCLIP `npm start` trains (building what is missing).
 */
import type { Command } from "commander";
import { InvalidArgumentError } from "../../errors.js";
import { ClipModel } from "../../clip/model.js";
import { loadCheckpoint } from "../../models/common/checkpoint.js";
import { parseLayerList, parseNonNegativeInt, parsePositiveInt, parsePositiveNumber } from "../options.js";
import { Inspector } from "../../serve/inspector.js";
import { openServeDemo } from "../../serve/demo.js";
import { startServer } from "../../serve/server.js";
import { DEFAULT_UPLOAD_LIMITS } from "../../serve/uploads.js";

interface ServeCliOptions {
  model?: string;
  checkpoint?: string;
  size?: number;
  layers?: number[];
  host: string;
  port: number;
  category?: string;
  maxUploadMb: number;
  maxQueue: number;
  threads?: number;
  data: string;
  quick?: boolean;
}

export function register(program: Command): void {
  program
    .command("serve")
    .description(
      "A local page to inspect anomaly maps: drop images, choose SimCLIP or SimCLIP+ (with reference images), the class name and layers; " +
        "see scores (equal to simclip predict's), maps, overlays, a thresholded mask and per-layer maps. Without --model: the demo backbone " +
        "and the SimCLIP that npm start trains on the synthetic benchmark (built here if missing).",
    )
    .option("--model <dir>", "CLIP model directory (the one the checkpoint was trained on); default: the demo backbone")
    .option("--checkpoint <dir>", "trained SimCLIP checkpoint (simclip train --out); default with --model: an untrained SimCLIP")
    .option("--size <px>", "without a checkpoint: input and map size (default 518)", parsePositiveInt("size"))
    .option("--layers <list>", "layers offered (default: the checkpoint's, or any of them; else 6,12,18,24)", parseLayerList)
    .option("--host <address>", "interface to listen on; anything but the loopback lets other machines in", "127.0.0.1")
    .option("--port <n>", "port (0: any free one)", parseNonNegativeInt("port"), 7860)
    .option("--category <name>", 'class name the page starts with (default: the first demo sample\'s, else "object")')
    .option("--max-upload-mb <n>", "largest upload accepted, MB", parsePositiveNumber("max-upload-mb"), DEFAULT_UPLOAD_LIMITS.maxBytes / (1024 * 1024))
    .option("--max-queue <n>", "jobs that may wait at once (more are refused with a message)", parsePositiveInt("max-queue"), 64)
    .option("--threads <n>", "onnxruntime intra-op threads (default: all cores)", parsePositiveInt("threads"))
    .option("--data <dir>", "without --model: the demo's cache of backbone, synthetic data and checkpoints", process.env.SIMCLIP_CACHE_DIR || "data")
    .option("--quick", "without --model: the tiny demo configuration (tiny backbone, 64 px)")
    .action(async (o: ServeCliOptions) => {
      const log = (line: string) => process.stderr.write(`${line}\n`);
      if (o.checkpoint && !o.model) throw new InvalidArgumentError("--checkpoint needs --model: pass the CLIP model directory the checkpoint was trained on");
      if (!o.model && (o.size !== undefined || o.layers !== undefined)) {
        throw new InvalidArgumentError("--size and --layers need --model: the demo serves the checkpoint npm start trains, at its size and layers");
      }
      const quick = o.quick === true || ["1", "true"].includes(process.env.SIMCLIP_QUICK ?? "");
      const demo = o.model ? undefined : await openServeDemo({ dataDir: o.data, quick, log });
      const model = demo?.model ?? (await ClipModel.load(o.model!, { threads: o.threads }));
      const checkpoint = demo?.checkpoint ?? (o.checkpoint ? await loadCheckpoint(o.checkpoint) : undefined);
      const inspector = await Inspector.create({ model, modelArg: demo?.modelDir ?? o.model!, checkpoint, size: o.size, layers: o.layers });
      const handle = await startServer({
        inspector,
        host: o.host,
        port: o.port,
        limits: { maxBytes: Math.round(o.maxUploadMb * 1024 * 1024) },
        maxQueue: o.maxQueue,
        samples: demo?.samples,
        defaultCategory: o.category ?? demo?.defaultCategory,
        log,
      });
      // Whatever ends the process, the uploads go with it.
      process.on("exit", () => handle.uploads.disposeSync());
      const stop = () => {
        log("simclip serve: stopping; uploads removed");
        handle.server.close();
        process.exit(0);
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      // A stray rejection from a library callback is logged; it must not take the page down with it.
      process.on("unhandledRejection", (err) => log(`simclip serve: unhandled rejection: ${(err as Error)?.stack ?? String(err)}`));
      const what = checkpoint ? `checkpoint ${checkpoint.dir}` : "untrained SimCLIP";
      process.stdout.write(`simclip serve: listening on ${handle.url} (model ${inspector.modelLabel}, ${what}; Ctrl-C stops it and removes the uploads)\n`);
    });
}
