"""The agent's lines as the runner reads them (``monitoring.wire.decode_line``): a well-formed batch is decoded and
checked in one pass, anything else item by item; both keep exactly the same events, cut to the same sizes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring.wire import decode_items, decode_line, without_nul


def text(limit: int) -> st.SearchStrategy[str]:
    """Strings around a column's size, so both sides of each cut are tried."""
    return st.one_of(st.text(max_size=8), st.integers(limit - 2, limit + 2).map(lambda n: "é" * n))


numbers = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**64), 2**64), st.booleans())
figure = st.one_of(st.none(), numbers, text(200))
events = st.fixed_dictionaries(
    {
        "framework": st.sampled_from(["lithops", "dask"]),
        "key": text(300),
        "phase": st.sampled_from(["task", "compute"]),
        "status": st.sampled_from(["running", "finished", "failed"]),
        "start": st.floats(0, 2e9),
    },
    optional={
        "group": st.one_of(text(200), st.integers()),
        "lane": text(200),
        "end": st.one_of(st.none(), st.floats(-1, 2e9)),
        "error": text(4000),
        "figures": st.dictionaries(text(64), figure, max_size=34),
    },
)


@given(st.lists(events, min_size=1, max_size=4))
@settings(max_examples=300, deadline=None)
def test_the_one_pass_decoder_keeps_what_the_item_by_item_check_keeps(batch):
    line = json.dumps(batch).encode()
    assert decode_line(line) == decode_items(without_nul(line))


def test_an_event_is_cut_to_the_column_sizes_and_its_good_neighbours_kept():
    good = {"framework": "dask", "key": "inc-1", "phase": "compute", "status": "finished", "start": 2.0, "end": 1.0}
    long = {**good, "key": "k" * 400, "error": "e" * 5000, "figures": {"n" * 70: 1, "bad": [1], "big": 2**70}}
    line = json.dumps([good, long, {"framework": "spark", "key": "x"}]).encode()

    events, rejected = decode_line(line)

    assert rejected == 1
    assert [(e.key, e.end) for e in events] == [("inc-1", 2.0), ("k" * 300, 2.0)]  # no bar of negative length
    assert len(events[1].error) == 4000
    assert events[1].figures == {"n" * 64: 1, "big": float(2**70)}  # a number, as a browser reads it


def test_the_older_fw_key_is_still_read():
    events, rejected = decode_line(b'[{"fw": "lithops", "key": "a/M000/0", "phase": "task", "status": "running", '
                                   b'"start": 1, "end": 5}]')  # fmt: skip
    assert rejected == 0
    assert [(e.framework, e.key, e.start, e.end) for e in events] == [("lithops", "a/M000/0", 1.0, None)]
