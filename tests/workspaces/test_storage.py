"""The file store under concurrent writers (the API, a second tab, another web process)."""

from __future__ import annotations

import threading

from pyrun_web.errors import PyrunError
from workspaces.storage import WorkspaceFiles


def test_of_many_saves_based_on_the_same_version_exactly_one_wins(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()

    def store() -> WorkspaceFiles:  # one per writer, like separate requests
        return WorkspaceFiles(
            root, max_file_bytes=1000, max_workspace_bytes=10_000,
            spool_dir=tmp_path / "incoming", lock_path=tmp_path / "ws.lock",
        )  # fmt: skip

    base, _ = store().write("main.py", [b"v1"])
    start, outcomes = threading.Barrier(8), []

    def save(n: int) -> None:
        start.wait()
        try:
            store().write("main.py", [f"v2 by writer {n}".encode()], if_match=[base.etag])
            outcomes.append(("saved", n))
        except PyrunError as refused:
            outcomes.append((refused.id, n))

    threads = [threading.Thread(target=save, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [n for outcome, n in outcomes if outcome == "saved"]
    assert len(winners) == 1
    assert sorted(o for o, _ in outcomes).count("workspaces:user:etag-mismatch") == 7
    assert (root / "main.py").read_text() == f"v2 by writer {winners[0]}"
