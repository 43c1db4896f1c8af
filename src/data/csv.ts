/**
 * RFC 4180 CSV (quoted fields, doubled quotes inside quotes, CRLF or LF, optional UTF-8 BOM), enough
 * for VisA's split files. No CSV library is installed, and this subset is small enough to get exactly right.
 */
import { FileFormatError } from "../errors.js";

export interface CsvRecord {
  /** 1-based line on which the record starts (for error messages). */
  line: number;
  fields: string[];
}

export function parseCsv(text: string, file: string): CsvRecord[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === "")) records.push({ line: recordLine, fields });
    fields = [];
    field = "";
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' && field === "") {
      const start = line;
      i++;
      for (;;) {
        if (i >= text.length) throw new FileFormatError(file, `line ${start}: quoted field is never closed`);
        const q = text[i]!;
        if (q === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (q === "\n") line++;
        field += q;
        i++;
      }
      const after = text[i];
      if (after !== undefined && after !== "," && after !== "\n" && after !== "\r") {
        throw new FileFormatError(file, `line ${line}: unexpected character ${JSON.stringify(after)} after a closing quote`);
      }
      continue;
    }
    if (c === ",") {
      fields.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      endRecord();
      if (c === "\r" && text[i + 1] === "\n") i++;
      line++;
      recordLine = line;
    } else {
      field += c;
    }
    i++;
  }
  if (field !== "" || fields.length > 0) endRecord();
  return records;
}
