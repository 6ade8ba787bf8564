import { AnsiUp } from "ansi_up";

const converter = new AnsiUp();
converter.escape_html = true; // user output must never become markup
converter.use_classes = true; // colours from theme.css (readable in light and dark)

/** One line of output as HTML with ANSI colours; each line starts with the default colours. */
export function ansiToHtml(text: string): string {
  const html = converter.ansi_to_html(text + "\u001b[0m");
  return html;
}
