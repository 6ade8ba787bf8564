# Word count, the "hello world" of map/reduce, on Lithops: the corpus is split into chunks of lines, each map task
# counts the words of its chunk and one reduce task merges the counts (Lithops' map_reduce).
# A word is a run of letters, with inner apostrophes kept ("nature's"), lower-cased: see WORD_PATTERN below.
# Results: results/wordcount.csv (every word and its count), results/wordcount.json and a bar chart of the most
# frequent words, results/top_words.png. Parameters: python wordcount.py --corpus data/corpus.txt --mappers 4
# Packages come from .pyrun/environment.yml (pip packages under `pip:`); saving it offers to rebuild the runtime.

import csv
import json
import re
import time
from collections import Counter
from pathlib import Path

import lithops
from pipeline_options import argument_parser  # the options declared in pipeline.toml

WORD_PATTERN = r"[a-z]+(?:'[a-z]+)*"
RESULTS = Path("results")
# Left out of the chart only (the counts keep every word), unless --include-stopwords.
STOPWORDS = {
    "a", "all", "an", "and", "any", "are", "art", "as", "at", "be", "been", "but", "by", "can", "do", "for", "from",
    "has", "hath", "have", "he", "her", "here", "him", "his", "i", "if", "in", "into", "is", "it", "its", "may",
    "me", "more", "most", "my", "no", "nor", "not", "of", "on", "only", "or", "other", "our", "own", "same",
    "shall", "she", "should", "so", "such", "than", "that", "the", "thee", "their", "them", "then", "there",
    "these", "they", "this", "those", "thou", "thy", "to", "up", "upon", "us", "very", "was", "we", "were", "what",
    "when", "which", "who", "will", "with", "would", "you", "your",
}  # fmt: skip


def count_words(chunk: str) -> dict:
    """Map: the words of one chunk of text and how often each occurs."""
    return dict(Counter(re.findall(WORD_PATTERN, chunk.lower())))


def merge_counts(results: list) -> dict:
    """Reduce: the sum of every chunk's counts."""
    total = Counter()
    for counts in results:
        total.update(counts)
    return dict(total)


def split_lines(text: str, parts: int) -> list[str]:
    """About equal chunks of whole lines (a word never spans two lines)."""
    lines = text.splitlines(keepends=True)
    size = len(text) / max(1, parts)
    chunks, current, length = [], [], 0
    for line in lines:
        current.append(line)
        length += len(line)
        if length >= size * (len(chunks) + 1) and len(chunks) < parts - 1:
            chunks.append("".join(current))
            current = []
    chunks.append("".join(current))
    return [c for c in chunks if c]


def plot(top: list[tuple[str, int]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, max(3, 0.25 * len(top) + 1)))
    words = [w for w, _ in top][::-1]
    ax.barh(words, [c for _, c in top][::-1], color="#f59e0b")
    ax.set(xlabel="occurrences", title=title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    args = argument_parser(__file__).parse_args()
    text = Path(args.corpus).read_text(encoding="utf-8")
    chunks = split_lines(text, args.mappers)
    executor = lithops.FunctionExecutor()
    started = time.time()
    future = executor.map_reduce(count_words, chunks, merge_counts)
    counts = Counter(executor.get_result(future))
    seconds = time.time() - started

    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    charted = [(w, c) for w, c in ranked if args.include_stopwords or w not in STOPWORDS][: args.top]
    total = sum(counts.values())
    print(f"{args.corpus}: {len(text)} characters in {len(chunks)} chunks, {seconds:.2f} s")
    print(f"{total} words, {len(counts)} distinct")
    print(f"{'word':<16} {'count':>6}")
    for word, count in ranked[: args.top]:
        print(f"{word:<16} {count:>6}")

    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "wordcount.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["word", "count"])
        writer.writerows(ranked)
    summary = {
        "corpus": args.corpus,
        "token_pattern": WORD_PATTERN,
        "lowercase": True,
        "chunks": len(chunks),
        "total_words": total,
        "distinct_words": len(counts),
        "top": ranked[: args.top],
        "seconds": seconds,
    }
    (RESULTS / "wordcount.json").write_text(json.dumps(summary, indent=2) + "\n")
    title = f"Top {len(charted)} words" + ("" if args.include_stopwords else " (without common words)")
    plot(charted, RESULTS / "top_words.png", title)
    print("wrote results/wordcount.csv, results/wordcount.json and results/top_words.png")


if __name__ == "__main__":
    main()
