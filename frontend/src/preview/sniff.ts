// Which viewer opens a file: by its extension first, then by its first bytes (a plot saved without an
// extension, a binary named .txt). Text stays in the editor; anything else gets a read-only view.

export type FileView = "text" | "image" | "table" | "html" | "pdf" | "binary";

/** How many leading bytes are read to tell text from binary. */
export const SNIFF_BYTES = 8192;

const IMAGE_TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
};
// Tables are read through the server's preview (the first rows only), never downloaded whole.
const TABLES = new Set(["csv", "tsv", "parquet", "pq"]);

export const extensionOf = (path: string) => {
  const name = path.split("/").pop() ?? "";
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
};

/** The viewer the name alone decides; null when the bytes must be looked at. */
export function viewByName(path: string): FileView | null {
  const ext = extensionOf(path);
  if (ext in IMAGE_TYPES) return "image";
  if (TABLES.has(ext)) return "table";
  if (ext === "html" || ext === "htm") return "html";
  if (ext === "pdf") return "pdf";
  return null;
}

const startsWith = (bytes: Uint8Array, prefix: number[], at = 0) =>
  bytes.length >= at + prefix.length && prefix.every((byte, i) => bytes[at + i] === byte);
const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));

/** The MIME type of the content's signature (PNG, JPEG, GIF, WebP, PDF, Parquet), or null. A Parquet file without
 * its extension stays a binary file: the server previews tables by extension only. */
export function signatureOf(bytes: Uint8Array): string | null {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (startsWith(bytes, ascii("GIF87a")) || startsWith(bytes, ascii("GIF89a"))) return "image/gif";
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) return "image/webp";
  if (startsWith(bytes, ascii("%PDF-"))) return "application/pdf";
  if (startsWith(bytes, ascii("PAR1"))) return "application/vnd.apache.parquet";
  return null;
}

/** Whether these leading bytes are text: no NUL, valid UTF-8 (a character cut by the end of the sample is fine:
 * with `stream` the decoder waits for the rest instead of failing). */
export function looksLikeText(head: Uint8Array): boolean {
  if (head.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(head, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/** The viewer for a file, from its name and its first bytes. */
export function chooseView(path: string, head: Uint8Array): FileView {
  const byName = viewByName(path);
  if (byName) return byName;
  const signature = signatureOf(head);
  if (signature?.startsWith("image/")) return "image";
  if (signature === "application/pdf") return "pdf";
  return looksLikeText(head) ? "text" : "binary";
}

/** The type an image or PDF is shown with: by extension, else by signature (an SVG is only ever known by name). */
export function mimeOf(path: string, head: Uint8Array): string {
  const ext = extensionOf(path);
  if (ext in IMAGE_TYPES) return IMAGE_TYPES[ext];
  if (ext === "pdf") return "application/pdf";
  return signatureOf(head) ?? "application/octet-stream";
}

/** Views that also make sense as text in the editor ("Open as text"). */
export const hasTextForm = (path: string) => ["csv", "tsv", "svg", "html", "htm"].includes(extensionOf(path));
