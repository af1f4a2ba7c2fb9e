"""How fast state values turn into stored JSON data and back, next to orjson alone on the same data.

    python tests/benchmarks/bench_values.py              # 5 rounds
    python tests/benchmarks/bench_values.py --rounds 9 --items 20000

Every snapshot encodes a thread's whole state, and every step encodes its
writes, through ``encode_value`` (which checks each value and tags what JSON
cannot hold); a read decodes them with ``decode_value``. Each row is a list of
``--items`` values of one shape, the shapes a state usually grows by: strings,
message-like dicts, and the same messages as dataclasses and pydantic models.
The baseline, run in the same process on the same machine, is ``orjson.dumps``
(or ``orjson.loads``) of the data ``encode_value`` produces: serialising what
is already plain JSON. A ratio is our time over that baseline, median of rounds.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pydantic

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout without installing

from eventstore import decode_value, encode_value


@dataclasses.dataclass
class Message:
    role: str
    content: str
    turn: int


class MessageModel(pydantic.BaseModel):
    role: str
    content: str
    turn: int


def shapes(items: int) -> dict[str, list[Any]]:
    texts = [f"turn {i}: a short reply of about forty characters" for i in range(items)]
    return {
        "strings": texts,
        "dicts": [{"role": "ai", "content": text, "turn": i} for i, text in enumerate(texts)],
        "dataclasses": [Message("ai", text, i) for i, text in enumerate(texts)],
        "pydantic models": [MessageModel(role="ai", content=text, turn=i) for i, text in enumerate(texts)],
    }


def seconds(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000, help="values per list (default 10,000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the figures are medians (default 5)")
    args = parser.parse_args()
    header = ("values", "encode ns/item", "orjson", "ratio", "decode ns/item", "orjson", "ratio")
    print("{:<16} {:>14} {:>8} {:>6}   {:>14} {:>8} {:>6}".format(*header))
    for name, value in shapes(args.items).items():
        data = encode_value(value)
        raw = orjson.dumps(data)
        assert decode_value(orjson.loads(raw)) == value
        times: dict[str, list[float]] = {"encode": [], "dumps": [], "decode": [], "loads": []}
        for _ in range(args.rounds):  # interleaved, so drift lands on ours and the baseline alike
            times["encode"].append(seconds(lambda: orjson.dumps(encode_value(value))))  # noqa: B023
            times["dumps"].append(seconds(lambda: orjson.dumps(data)))  # noqa: B023
            times["decode"].append(seconds(lambda: decode_value(orjson.loads(raw))))  # noqa: B023
            times["loads"].append(seconds(lambda: orjson.loads(raw)))  # noqa: B023
        per_item = {k: statistics.median(v) / args.items * 1e9 for k, v in times.items()}
        print(
            f"{name:<16} {per_item['encode']:>14,.0f} {per_item['dumps']:>8,.0f} "
            f"{per_item['encode'] / per_item['dumps']:>6.1f}   {per_item['decode']:>14,.0f} "
            f"{per_item['loads']:>8,.0f} {per_item['decode'] / per_item['loads']:>6.1f}"
        )


if __name__ == "__main__":
    main()
