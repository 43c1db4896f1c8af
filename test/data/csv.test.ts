import { test } from "node:test";
import assert from "node:assert/strict";
import { FileFormatError } from "../../src/errors.js";
import { parseCsv } from "../../src/data/csv.js";

test("parseCsv: RFC 4180 quoting, doubled quotes, embedded comma/newline, CRLF, BOM, empty fields", () => {
  const text = '\ufeffa,b,c\r\n"x, y","say ""hi""",\r\n"multi\nline",2,3\n\n,,\nlast,row,"q"';
  assert.deepEqual(parseCsv(text, "t.csv"), [
    { line: 1, fields: ["a", "b", "c"] },
    { line: 2, fields: ["x, y", 'say "hi"', ""] },
    { line: 3, fields: ["multi\nline", "2", "3"] },
    { line: 6, fields: ["", "", ""] },
    { line: 7, fields: ["last", "row", "q"] },
  ]);
});

test("parseCsv: malformed quoting is a FileFormatError naming the file and line", () => {
  assert.throws(
    () => parseCsv('a,b\n"open,1\n', "bad.csv"),
    (e: unknown) => e instanceof FileFormatError && e.path === "bad.csv" && /line 2: quoted field is never closed/.test(e.message),
  );
  assert.throws(
    () => parseCsv('a\n"x"y\n', "bad.csv"),
    (e: unknown) => e instanceof FileFormatError && /line 2: unexpected character "y"/.test(e.message),
  );
});
