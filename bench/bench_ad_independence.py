"""Answer independence: over the evaluation questions, is the answer with sponsored items allowed
the same as the answer without?

Run (no services needed: SQLite and the embedded backends in a temporary data directory):
  .venv/bin/python bench/bench_ad_independence.py            # every question (~1 min)
  .venv/bin/python bench/bench_ad_independence.py --quick    # a quarter of them

It seeds the demo as bench/bench_answer_quality.py does (its two advertisers have funded,
approved units about energy, cooking, the web and travel), lets the demo agent accept every
`ai-input` offer, and asks each question of bench/eval/questions.jsonl twice through
`POST /api/v1/answers`: with `allow_sponsored: false` and with `true` (which one first
alternates from question to question). The frequency cap is off (ADS_FREQUENCY_CAP=0), so every
answer that can carry an item gets one. For each pair it compares the status and, byte for
byte, the answer text, and the citations, sources, attribution and cost (their canonical JSON);
a refusal must be the same refusal. It reports how many pairs are identical (the target: all
of them) and how many answers carried a sponsored item, and exits non-zero on any difference.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import _catalog_corpus as corpus
import bench_answer_quality as quality

COMPARED = ("answer", "citations", "sources", "attribution", "cost")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="every fourth question only")
    parser.add_argument("--questions", type=Path, default=quality.QUESTIONS)
    return parser.parse_args()


def ask(agent: quality.Agent, question: str, allow: bool) -> tuple[int, dict]:
    response = agent.client.post(
        "/api/v1/answers",
        {"question": question, "allow_sponsored": allow},
        content_type="application/json",
    )
    return response.status_code, response.json()


def canonical(body: dict, key: str) -> bytes:
    return json.dumps(body.get(key), sort_keys=True, ensure_ascii=False).encode()


def compare(rows: list[dict], agent: quality.Agent) -> dict:
    counts: Counter[str] = Counter()
    differences = []
    advertisers: Counter[str] = Counter()
    for n, row in enumerate(rows):
        order = (False, True) if n % 2 == 0 else (True, False)
        results = {allow: ask(agent, row["question"], allow) for allow in order}
        (off_status, off), (on_status, on) = results[False], results[True]
        counts["pairs"] += 1
        if off_status != on_status or (off_status != 200 and off.get("code") != on.get("code")):
            differences.append((row["id"], "status", off_status, on_status))
            continue
        if off_status != 200:
            counts["same refusal"] += 1
            continue
        counts["answered"] += 1
        same = {key: canonical(off, key) == canonical(on, key) for key in COMPARED}
        for key, equal in same.items():
            counts[f"same {key}"] += equal
        if all(same.values()):
            counts["identical"] += 1
        else:
            differences.append((row["id"], [k for k, v in same.items() if not v]))
        counts["off carried an item"] += bool(off["sponsored"])
        counts["on carried an item"] += bool(on["sponsored"])
        advertisers.update(item["advertiser"]["name"] for item in on["sponsored"])
    return {"counts": counts, "differences": differences, "advertisers": advertisers}


def main() -> None:
    args = parse_args()
    rows = quality.load_questions(args.questions, quick=args.quick)
    os.environ["ADS_FREQUENCY_CAP"] = "0"
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="provenant-ad-independence-") as data_dir:
        agent = quality.Agent(quality.setup_demo(Path(data_dir)))
        agent.accept_every_offer()
        print(f"machine: {corpus.machine()}")
        result = compare(rows, agent)
    counts, differences = result["counts"], result["differences"]
    answered = counts["answered"]
    print(
        f"{counts['pairs']} questions asked with and without sponsored items allowed "
        f"in {time.perf_counter() - started:.0f} s (demo seeded, extractive backend, BM25)\n"
    )
    same_status = counts["pairs"] - sum(1 for d in differences if d[1] == "status")
    print("| compared | identical |")
    print("|---|---|")
    print(f"| status and refusal code | {same_status} of {counts['pairs']} |")
    for key in COMPARED:
        print(f"| {key} (byte for byte) | {counts[f'same {key}']} of {answered} |")
    refusals = counts["same refusal"]
    print(f"| all of them | {counts['identical']} of {answered}; {refusals} refusals the same |")
    print(
        f"\nanswers carrying a sponsored item: {counts['on carried an item']} of {answered} "
        f"with allow_sponsored true, {counts['off carried an item']} with false"
    )
    print(f"items by advertiser: {dict(result['advertisers'])}")
    print(f"answer independence: {counts['identical']}/{answered} (target: all)")
    if differences or counts["off carried an item"]:
        sys.exit(f"differences: {differences}")


if __name__ == "__main__":
    main()
