export { FilePreview, HTML_CSP, htmlDocument, type PreviewFile } from "./FilePreview";
export { PREVIEW_ROWS, PreviewTable, rowsCaption, TablePreviewView } from "./PreviewTable";
export { chooseView, hasTextForm, looksLikeText, mimeOf, signatureOf, SNIFF_BYTES, viewByName, type FileView } from "./sniff";
