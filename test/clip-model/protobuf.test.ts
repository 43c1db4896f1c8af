import { test } from "node:test";
import assert from "node:assert/strict";
import { ProtoMessage } from "../../src/clip/onnx/protobuf.js";

// Expected bytes from the protobuf encoding guide (developers.google.com/protocol-buffers/docs/encoding).
test("varint fields encode as in the protobuf specification", () => {
  assert.deepEqual([...new ProtoMessage().int(1, 150).toBytes()], [0x08, 0x96, 0x01]);
  assert.deepEqual([...new ProtoMessage().int(2, 300).toBytes()], [0x10, 0xac, 0x02]);
  // int64 -1 is ten bytes of two's complement varint.
  assert.deepEqual([...new ProtoMessage().int(1, -1).toBytes()], [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
});

test("strings, nested messages and fixed32 floats", () => {
  assert.deepEqual([...new ProtoMessage().string(2, "testing").toBytes()], [0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67]);
  const inner = new ProtoMessage().int(1, 150);
  assert.deepEqual([...new ProtoMessage().message(3, inner).toBytes()], [0x1a, 0x03, 0x08, 0x96, 0x01]);
  // 1.0f = 0x3f800000, little endian, wire type 5.
  assert.deepEqual([...new ProtoMessage().float(2, 1).toBytes()], [0x15, 0x00, 0x00, 0x80, 0x3f]);
  assert.equal(new ProtoMessage().message(3, inner).byteLength, 5);
});
