"""A log's chunks as one text, line by line as the Output panel shows them (``frontend/src/logs/logBuffer.ts``).

Chunks are what each stream wrote, in the order they arrived. An unbuffered ``print`` writes its text and its
newline apart, and another stream's lines (a traceback on stderr) may come in between: joined as written, the
file would read ``startingTraceback ...`` and then a lone newline.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def joined_lines(chunks: Iterable[tuple[str, str]]) -> Iterator[str]:
    """The text of ``(stream, text)`` chunks: a stream's open line ends where another stream writes, and the
    newline that later ends it on its own stream is not a second, empty line."""
    unterminated: set[str] = set()  # streams whose last write left a line open
    open_stream: str | None = None  # the stream whose line the text written so far leaves open
    for stream, text in chunks:
        if not text:
            continue
        interrupted = open_stream is not None and open_stream != stream
        piece = text
        if stream in unterminated and open_stream != stream and piece.startswith("\n"):
            piece = piece[1:]  # its line was already ended by the other stream's lines
        if text.endswith("\n"):
            unterminated.discard(stream)
        else:
            unterminated.add(stream)
        if interrupted:
            piece = "\n" + piece
        if piece:
            open_stream = None if piece.endswith("\n") else stream
            yield piece
