// One XML part of a workbook read as a stream (htmlparser2's tokenizer in XML mode: 2.5× the
// speed of sax on a million-row sheet, docs/decisions/013-spreadsheets.md), with the bounds an
// XML bomb would break: no DOCTYPE or entity declaration at all (SpreadsheetML never has one;
// htmlparser2 would not expand them anyway, but a part that has one is not Excel's), nesting at
// most MAX_XML_DEPTH, and no tag, attribute or comment longer than MAX_XML_PENDING_CHARS (the
// tokenizer would hold it whole). Text is handed on in pieces as it arrives, so a long cell costs
// what its reader keeps of it.
import { Parser } from "htmlparser2";
import { MAX_XML_DEPTH, MAX_XML_PENDING_CHARS, SpreadsheetError } from "./limits.ts";
import { Utf8Chunks } from "./utf8.ts";

export interface XmlHandler {
  /** An element opens; `name` without its namespace prefix, attributes as written (prefixed names keep their prefix). */
  open(name: string, attrs: Record<string, string>): void;
  /** Text (entities decoded), possibly in several pieces. */
  text(text: string): void;
  close(name: string): void;
}

/**
 * The same, attribute by attribute: no object is made per element, which counts on a sheet's
 * millions of cells (it halves the collector's work). `start` comes before the element's attributes.
 */
export interface XmlStreamHandler {
  start(name: string): void;
  attribute(name: string, value: string): void;
  text(text: string): void;
  close(name: string): void;
}

/** Characters handed to the tokenizer at once, so the pending bound is checked often. */
const WRITE_CHARS = 64 * 1024;

const local = (name: string) => {
  const colon = name.indexOf(":");
  return colon < 0 ? name : name.slice(colon + 1);
};

export class XmlPart {
  private readonly parser: Parser;
  private readonly decoder = new Utf8Chunks();
  private depth = 0;
  /** Characters written since the tokenizer last told us anything. */
  private quiet = 0;

  /** `part` names the part in refusals ("xl/worksheets/sheet1.xml"). */
  constructor(
    private readonly part: string,
    handler: XmlHandler | XmlStreamHandler,
  ) {
    const heard = () => void (this.quiet = 0);
    const opened = () => {
      heard();
      if (++this.depth > MAX_XML_DEPTH) throw new SpreadsheetError("xml_too_complex", `${this.part} nests elements more than ${MAX_XML_DEPTH} deep`);
    };
    const tags =
      "start" in handler
        ? {
            onopentagname: (name: string) => {
              opened();
              handler.start(local(name));
            },
            onattribute: (name: string, value: string) => {
              heard();
              handler.attribute(name, value);
            },
          }
        : {
            onopentag: (name: string, attrs: Record<string, string>) => {
              opened();
              handler.open(local(name), attrs);
            },
            onattribute: heard,
          };
    this.parser = new Parser(
      {
        ...tags,
        ontext: (text) => {
          heard();
          handler.text(text);
        },
        onclosetag: (name) => {
          heard();
          this.depth--;
          handler.close(local(name));
        },
        oncomment: heard,
        onprocessinginstruction: (name) => {
          heard();
          // "?xml" is the declaration; "!…" is a DOCTYPE (or another markup declaration).
          if (name.startsWith("!")) throw new SpreadsheetError("xml_doctype_refused", `${this.part} declares a DOCTYPE or entities, which a workbook never does; refused`);
        },
      },
      { xmlMode: true, decodeEntities: true },
    );
  }

  write(bytes: Uint8Array): void {
    this.feed(this.decode(() => this.decoder.decode(bytes)));
  }

  end(): void {
    this.feed(this.decode(() => this.decoder.end()));
    this.parser.end();
  }

  private decode(read: () => string): string {
    try {
      return read();
    } catch {
      throw new SpreadsheetError("spreadsheet_invalid", `${this.part} is not UTF-8 XML`);
    }
  }

  private feed(text: string): void {
    for (let i = 0; i < text.length; i += WRITE_CHARS) {
      const piece = i === 0 && text.length <= WRITE_CHARS ? text : text.slice(i, i + WRITE_CHARS);
      this.quiet += piece.length;
      this.parser.write(piece);
      if (this.quiet > MAX_XML_PENDING_CHARS) {
        throw new SpreadsheetError("xml_too_complex", `${this.part} holds a tag, attribute or comment longer than ${MAX_XML_PENDING_CHARS} characters`);
      }
    }
  }
}
