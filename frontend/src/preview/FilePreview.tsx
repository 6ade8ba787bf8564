// Read-only views of files that are not text to edit: images, tables, HTML, PDF and other binary files. Each has
// "Download", and "Open as text" where the file is text underneath (CSV, TSV, HTML, SVG).
//
// Nothing a tenant wrote ever runs as the platform's page: images (SVG too) are <img> elements from an object URL,
// where SVG scripts do not run; HTML goes into an iframe with an empty sandbox (no scripts, an opaque origin) and a
// CSP that loads nothing from anywhere; a PDF is the browser's own viewer on an object URL.
import { useEffect, useState } from "react";
import { api } from "../api/endpoints";
import "./preview.css";
import type { FileView } from "./sniff";
import { hasTextForm } from "./sniff";
import { TablePreviewView } from "./PreviewTable";

export interface PreviewFile {
  path: string;
  view: FileView;
  blob?: Blob; // the file's bytes (not for tables: the server previews them)
  mime?: string; // the type it is shown with (images, PDF)
}

export interface FilePreviewProps {
  workspaceId: number;
  file: PreviewFile;
  onOpenAsText?: (path: string) => void;
}

// What an HTML preview may load: inline styles and images inlined as data: URLs; no scripts, no requests.
export const HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:";

/** The document an HTML preview shows: the file, after a CSP meta element that applies to all of it. */
export const htmlDocument = (html: string) =>
  `<meta http-equiv="Content-Security-Policy" content="${HTML_CSP}">\n${html}`;

function useObjectUrl(blob: Blob | undefined, type: string | undefined): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!blob) return;
    const made = URL.createObjectURL(type ? new Blob([blob], { type }) : blob);
    setUrl(made);
    return () => {
      URL.revokeObjectURL(made);
      setUrl(null);
    };
  }, [blob, type]);
  return url;
}

function useBlobText(blob: Blob | undefined): string | null {
  const [text, setText] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    void blob?.text().then((value) => current && setText(value));
    return () => {
      current = false;
    };
  }, [blob]);
  return text;
}

const nameOf = (path: string) => path.split("/").pop() ?? path;

function ImageView({ file }: { file: PreviewFile }) {
  const url = useObjectUrl(file.blob, file.mime);
  const [broken, setBroken] = useState(false);
  if (broken) return <p className="empty">{file.path} is not an image this browser can show.</p>;
  return (
    <div className="image-preview">
      {url && <img src={url} alt={file.path} onError={() => setBroken(true)} />}
    </div>
  );
}

function HtmlView({ file }: { file: PreviewFile }) {
  const html = useBlobText(file.blob);
  if (html === null) return <p className="empty">Reading {file.path}…</p>;
  // sandbox="" : no scripts, no forms, no popups, no same-origin access; srcdoc: nothing is fetched from us.
  return <iframe className="html-preview" title={`Preview of ${file.path}`} sandbox="" srcDoc={htmlDocument(html)} />;
}

function PdfView({ file, download }: { file: PreviewFile; download: string }) {
  const url = useObjectUrl(file.blob, "application/pdf");
  if (!url) return null;
  return (
    <object className="pdf-preview" data={url} type="application/pdf" aria-label={`PDF ${file.path}`}>
      <p className="empty">
        This browser shows no PDF here: <a href={download} download={nameOf(file.path)}>download it</a>.
      </p>
    </object>
  );
}

export function FilePreview({ workspaceId, file, onOpenAsText }: FilePreviewProps) {
  const download = api.fileUrl(workspaceId, file.path);
  const size = file.blob?.size;
  return (
    <div className="file-preview" data-view={file.view}>
      <div className="preview-toolbar" role="toolbar" aria-label="Preview">
        <span className="muted">{file.path} · read-only</span>
        <a href={download} download={nameOf(file.path)}>
          Download
        </a>
        {onOpenAsText && hasTextForm(file.path) && (
          <button type="button" onClick={() => onOpenAsText(file.path)}>
            Open as text
          </button>
        )}
      </div>
      <div className="preview-body">
        {file.view === "image" && <ImageView file={file} />}
        {file.view === "table" && <TablePreviewView workspaceId={workspaceId} path={file.path} />}
        {file.view === "html" && <HtmlView file={file} />}
        {file.view === "pdf" && <PdfView file={file} download={download} />}
        {file.view === "binary" && (
          <p className="empty" data-testid="binary-file">
            Binary file, {(size ?? 0).toLocaleString("en-US")} bytes —{" "}
            <a href={download} download={nameOf(file.path)}>
              Download
            </a>
          </p>
        )}
      </div>
    </div>
  );
}
