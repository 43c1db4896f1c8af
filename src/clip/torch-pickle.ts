/**
 * A restricted unpickler for the `data.pkl` of `torch.save` checkpoints.
 *
 * Python's pickle is a small stack machine whose GLOBAL/REDUCE opcodes import and call any function,
 * so loading an untrusted pickle runs arbitrary code. This interpreter only *describes* what a
 * state dict's pickle builds: the globals it accepts are an allow-list (OrderedDict, the tensor
 * rebuild functions and the storage types), each checked the moment the GLOBAL / STACK_GLOBAL opcode
 * names it, and "calling" one builds a plain JS value (a Map, a `TensorRef`). Nothing from the
 * file is ever executed or evaluated. Tensor data is not read here: a tensor is a `TensorRef` to a
 * `data/<key>` storage of the archive, which `torch-checkpoint.ts` reads afterwards.
 */
import { FileFormatError } from "../errors.js";

export type TorchFloatDtype = "float32" | "float16" | "bfloat16" | "float64";
export type TorchIntDtype = "int64" | "int32" | "int16" | "int8" | "uint8" | "bool";
export type TorchDtype = TorchFloatDtype | TorchIntDtype;

/** The `torch.<X>Storage` classes a persistent id may name, and the dtype of their elements. */
const STORAGE_DTYPES: ReadonlyMap<string, TorchDtype> = new Map([
  ["FloatStorage", "float32"],
  ["HalfStorage", "float16"],
  ["BFloat16Storage", "bfloat16"],
  ["DoubleStorage", "float64"],
  ["LongStorage", "int64"],
  ["IntStorage", "int32"],
  ["ShortStorage", "int16"],
  ["CharStorage", "int8"],
  ["ByteStorage", "uint8"],
  ["BoolStorage", "bool"],
]);

const ALLOWED_CALLABLES = [
  "collections.OrderedDict",
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_parameter",
  "torch._utils._rebuild_parameter_with_state",
] as const;
type AllowedCallable = (typeof ALLOWED_CALLABLES)[number];

/** A global the pickle named and the allow-list accepted; it only ever stands for itself. */
class PickleGlobal {
  constructor(
    readonly qualified: AllowedCallable | `torch.${string}Storage`,
    /** Set for the storage types. */
    readonly storageDtype?: TorchDtype,
  ) {}
}

/** `('storage', torch.<X>Storage, key, location, numel)`: the archive entry `data/<key>`. */
export class StorageRef {
  constructor(
    readonly dtype: TorchDtype,
    readonly key: string,
    readonly location: string,
    /** Elements (of `dtype`) the storage holds. */
    readonly numel: number,
  ) {}
}

/** A tensor as `_rebuild_tensor_v2` describes it: a strided view of (part of) a storage. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    /** In elements. */
    readonly offset: number,
    readonly shape: number[],
    /** In elements, one per dimension. */
    readonly stride: number[],
    readonly requiresGrad: boolean,
  ) {}
}

/**
 * What a pickle builds, with `T` for its tensors. Dicts and OrderedDicts are Maps (keeping order and
 * integer keys); lists and tuples are arrays; integers are numbers, or bigints beyond 2^53.
 */
export type PickleTree<T> = null | boolean | number | bigint | string | PickleTree<T>[] | PickleMap<T> | T;
export type PickleMap<T> = Map<string | number, PickleTree<T>>;

/** The pickle names a global outside the allow-list; it was refused before anything used it. */
export class UnsafePickleError extends FileFormatError {
  override name = "UnsafePickleError";
  constructor(
    path: string,
    readonly global: string,
    at: string,
  ) {
    super(
      path,
      `${at}: refusing the Python global "${global}"; a checkpoint may only reference ` +
        `${[...ALLOWED_CALLABLES, "torch.<dtype>Storage"].join(", ")}. Nothing from the file was executed`,
    );
  }
}

/** A stack slot: a value, or one of the globals / storages that may only appear inside arguments. */
type Item = PickleTree<TensorRef> | PickleGlobal | StorageRef | Item[];

function allowGlobal(module: string, name: string): PickleGlobal | undefined {
  const qualified = `${module}.${name}`;
  if ((ALLOWED_CALLABLES as readonly string[]).includes(qualified)) return new PickleGlobal(qualified as AllowedCallable);
  const dtype = module === "torch" ? STORAGE_DTYPES.get(name) : undefined;
  return dtype === undefined ? undefined : new PickleGlobal(`torch.${name}` as `torch.${string}Storage`, dtype);
}

function describe(v: Item): string {
  if (v === null) return "None";
  if (v instanceof Map) return "a dict";
  if (Array.isArray(v)) return `a tuple/list of ${v.length}`;
  if (v instanceof PickleGlobal) return `the global ${v.qualified}`;
  if (v instanceof StorageRef) return `storage data/${v.key}`;
  if (v instanceof TensorRef) return "a tensor";
  return `${typeof v} ${typeof v === "string" ? JSON.stringify(v) : String(v)}`;
}

/**
 * Interprets `bytes` (the archive's data.pkl; `path` and `entry` name it in errors) and returns the
 * root object. Accepts the opcodes that torch.save writes with pickle protocols 1-5.
 */
export function unpickle(bytes: Uint8Array, path: string, entry: string): PickleTree<TensorRef> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder("utf-8");
  const stack: Item[] = [];
  const marks: number[] = [];
  const memo = new Map<number, Item>();
  let pos = 0;
  let opPos = 0;
  let op = 0;

  const at = () => `${entry} byte ${opPos} (opcode 0x${op.toString(16).padStart(2, "0")})`;
  const fail = (detail: string): never => {
    throw new FileFormatError(path, `${at()}: ${detail}`);
  };
  const take = (n: number): number => {
    if (pos + n > bytes.length) fail(`needs ${n} more bytes but the pickle ends at byte ${bytes.length} (truncated?)`);
    const start = pos;
    pos += n;
    return start;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail(`expected a newline-terminated argument but the pickle ends at byte ${bytes.length} (truncated?)`);
    const s = new TextDecoder("latin1").decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const str = (n: number) => utf8.decode(bytes.subarray(take(n), pos));
  const length8 = (): number => {
    const n = view.getBigUint64(take(8), true);
    if (n > BigInt(bytes.length)) fail(`declares a length of ${n} bytes, more than the whole pickle (${bytes.length})`);
    return Number(n);
  };
  const pop = (): Item => {
    if (stack.length <= (marks.at(-1) ?? 0)) fail("pops an empty stack (corrupt pickle)");
    return stack.pop()!;
  };
  const popMark = (): Item[] => {
    const m = marks.pop();
    if (m === undefined) fail("needs a MARK but none is open (corrupt pickle)");
    return stack.splice(m!);
  };
  const top = (): Item => {
    if (stack.length <= (marks.at(-1) ?? 0)) fail("needs a value on the stack but it is empty (corrupt pickle)");
    return stack[stack.length - 1]!;
  };
  const integer = (v: bigint): number | bigint => (v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v);
  const longLE = (n: number): number | bigint => {
    const start = take(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[start + i]!);
    if (n > 0 && bytes[start + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return integer(v);
  };
  const textInt = (s: string): number | bigint => {
    if (!/^[-+]?\d+L?$/.test(s)) fail(`expected a decimal integer, found ${JSON.stringify(s)}`);
    return integer(BigInt(s.replace(/L$/, "")));
  };
  const memoGet = (key: number): Item => {
    if (!memo.has(key)) fail(`refers to memo slot ${key}, which was never stored (corrupt pickle)`);
    return memo.get(key)!;
  };
  const dictOf = (target: Item): PickleMap<TensorRef> => {
    if (!(target instanceof Map)) fail(`sets items on ${describe(target)}, expected a dict`);
    return target as PickleMap<TensorRef>;
  };
  const setItems = (map: PickleMap<TensorRef>, items: Item[]) => {
    if (items.length % 2 !== 0) fail(`has ${items.length} items after MARK, expected key/value pairs`);
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i]!;
      if (typeof key !== "string" && typeof key !== "number") fail(`uses ${describe(key)} as a dict key; only strings and integers are supported`);
      map.set(key as string | number, items[i + 1]! as PickleTree<TensorRef>);
    }
  };
  const listOf = (target: Item): Item[] => {
    if (!Array.isArray(target)) fail(`appends to ${describe(target)}, expected a list`);
    return target as Item[];
  };
  const global = (module: string, name: string) => {
    const g = allowGlobal(module, name);
    if (!g) throw new UnsafePickleError(path, `${module}.${name}`, at());
    stack.push(g);
  };

  while (true) {
    opPos = pos;
    if (pos >= bytes.length) throw new FileFormatError(path, `${entry}: ends at byte ${pos} without the STOP opcode (truncated?)`);
    op = bytes[pos++]!;
    switch (op) {
      case 0x80: // PROTO
        if (bytes[take(1)]! > 5) fail(`pickle protocol ${bytes[pos - 1]} is newer than 5, the highest this reader knows`);
        break;
      case 0x95: // FRAME: a length prefix for buffered reading; the content follows inline
        length8();
        break;
      case 0x2e: {
        // STOP
        if (stack.length !== 1 || marks.length) fail(`ends with ${stack.length} values and ${marks.length} open MARKs, expected one value`);
        return checkTree(stack[0]!, path, entry);
      }
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x64: {
        // DICT
        const map: PickleMap<TensorRef> = new Map();
        setItems(map, popMark());
        stack.push(map);
        break;
      }
      case 0x6c: // LIST
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        listOf(top()).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        listOf(top()).push(...items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(dictOf(top()), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(dictOf(top()), items);
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(str(view.getUint32(take(4), true)));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(str(length8()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(str(bytes[take(1)]!));
        break;
      case 0x56: // UNICODE: raw-unicode-escape text; only \uXXXX and \UXXXXXXXX are escapes
        stack.push(line().replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u, U) => String.fromCodePoint(parseInt(u ?? U, 16))));
        break;
      case 0x4a: // BININT
        stack.push(view.getInt32(take(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(bytes[take(1)]!);
        break;
      case 0x4d: // BININT2
        stack.push(view.getUint16(take(2), true));
        break;
      case 0x8a: // LONG1
        stack.push(longLE(bytes[take(1)]!));
        break;
      case 0x8b: {
        // LONG4
        const n = view.getInt32(take(4), true);
        if (n < 0 || n > bytes.length) fail(`declares a ${n}-byte integer`);
        stack.push(longLE(n));
        break;
      }
      case 0x49: {
        // INT: protocols 0-1 write booleans as I01 / I00
        const s = line();
        stack.push(s === "01" ? true : s === "00" ? false : textInt(s));
        break;
      }
      case 0x4c: // LONG (text, protocols 0-1)
        stack.push(textInt(line()));
        break;
      case 0x47: // BINFLOAT: big-endian
        stack.push(view.getFloat64(take(8), false));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x71: // BINPUT
        memo.set(bytes[take(1)]!, top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(view.getUint32(take(4), true), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(bytes[take(1)]!));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(view.getUint32(take(4), true)));
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        global(module, line());
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail(`expects two strings, found ${describe(module)} and ${describe(name)}`);
        global(module as string, name as string);
        break;
      }
      case 0x51: {
        // BINPERSID
        stack.push(storageRef(pop(), fail));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        stack.push(reduce(callable, args, fail));
        break;
      }
      case 0x62: {
        // BUILD: torch attaches `_metadata` (per-module versions) to state-dict OrderedDicts; the
        // weights do not depend on it, so the state is dropped.
        const state = pop();
        const target = top();
        if (!(target instanceof Map)) fail(`sets the state ${describe(state)} on ${describe(target)}; only dicts accept a state`);
        break;
      }
      default:
        fail(`unsupported pickle opcode; a torch.save state dict uses only the opcodes of dicts, lists, tuples, strings, numbers and tensors`);
    }
  }
}

/** Checks a persistent id `('storage', torch.<X>Storage, key, location, numel)`. */
function storageRef(pid: Item, fail: (detail: string) => never): StorageRef {
  if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== "storage") {
    return fail(`expected a persistent id ('storage', StorageType, key, location, numel), found ${describe(pid)}`);
  }
  const [, type, key, location, numel] = pid;
  if (!(type instanceof PickleGlobal) || type.storageDtype === undefined) return fail(`persistent id names ${describe(type!)}, expected a torch storage type`);
  if (typeof key !== "string" || typeof location !== "string")
    return fail(`persistent id key/location ${describe(key!)}, ${describe(location!)} are not strings`);
  if (typeof numel !== "number" || !Number.isSafeInteger(numel) || numel < 0)
    return fail(`persistent id numel ${describe(numel!)} is not a non-negative integer`);
  return new StorageRef(type.storageDtype, key, location, numel);
}

function intTuple(v: Item | undefined, what: string, fail: (detail: string) => never): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "number" && Number.isSafeInteger(x) && x >= 0)) {
    return fail(`${what} must be a tuple of non-negative integers, found ${describe(v ?? null)}`);
  }
  return v as number[];
}

/** What "calling" an allowed global builds. */
function reduce(callable: Item, args: Item, fail: (detail: string) => never): Item {
  if (!(callable instanceof PickleGlobal)) return fail(`calls ${describe(callable)}, which is not a callable global`);
  if (!Array.isArray(args)) return fail(`calls ${callable.qualified} with ${describe(args)} instead of an argument tuple`);
  switch (callable.qualified) {
    case "collections.OrderedDict":
      // OrderedDict pickles as OrderedDict() followed by SETITEMS.
      if (args.length !== 0) return fail(`calls collections.OrderedDict with ${args.length} arguments, expected none`);
      return new Map();
    case "torch._utils._rebuild_tensor_v2": {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]); hooks
      // and metadata do not affect the values.
      const [storage, offset, size, stride, requiresGrad] = args;
      if (args.length < 6 || !(storage instanceof StorageRef)) {
        return fail(
          `_rebuild_tensor_v2 expects (storage, offset, size, stride, requires_grad, hooks), found ${args.length} arguments starting with ${describe(storage ?? null)}`,
        );
      }
      if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0)
        return fail(`tensor storage offset ${describe(offset!)} is not a non-negative integer`);
      const shape = intTuple(size, "tensor size", fail);
      const strides = intTuple(stride, "tensor stride", fail);
      if (strides.length !== shape.length) return fail(`tensor size [${shape.join(", ")}] and stride [${strides.join(", ")}] differ in length`);
      return new TensorRef(storage, offset, shape, strides, requiresGrad === true);
    }
    case "torch._utils._rebuild_parameter":
    case "torch._utils._rebuild_parameter_with_state": {
      // (data, requires_grad, backward_hooks[, state]): a Parameter is its tensor.
      const [data, requiresGrad] = args;
      if (!(data instanceof TensorRef)) return fail(`${callable.qualified} expects a tensor, found ${describe(data ?? null)}`);
      return new TensorRef(data.storage, data.offset, data.shape, data.stride, requiresGrad === true);
    }
    default:
      return fail(`calls ${callable.qualified}, which is a storage type, not a function`);
  }
}

/** The root must be made of values only: a global or storage outside a tensor's arguments is refused. */
function checkTree(root: Item, path: string, entry: string): PickleTree<TensorRef> {
  const seen = new Set<object>();
  const visit = (v: Item, where: string) => {
    if (v instanceof PickleGlobal || v instanceof StorageRef) {
      throw new FileFormatError(path, `${entry}: ${where || "the root"} is ${describe(v)}, which is only meaningful as a tensor's argument`);
    }
    if (typeof v !== "object" || v === null || seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v))
      v.forEach((x, i) => {
        visit(x, where ? `${where}.${i}` : String(i));
      });
    else if (v instanceof Map) for (const [k, x] of v) visit(x, where ? `${where}.${k}` : String(k));
  };
  visit(root, "");
  return root as PickleTree<TensorRef>;
}
