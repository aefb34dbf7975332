"""Leave-one-out agreement of attribution: does a source's share follow what it changes?

Run (no services needed: SQLite and the embedded backends in temporary data directories):
  .venv/bin/python bench/bench_leave_one_out.py                # every scenario (~40 s)
  .venv/bin/python bench/bench_leave_one_out.py --quick        # a quarter of the questions
  .venv/bin/python bench/bench_leave_one_out.py --scenario salad --show 10
  .venv/bin/python bench/bench_leave_one_out.py --out var/leave-one-out.json

Each scenario runs in a process of its own on a fresh database: the demo is seeded
(`manage.py migrate` + `seed_demo`) and the demo agent accepts every published `ai-input` offer,
as bench/bench_answer_quality.py does. In the attack scenarios (bench/_attacks.py) a newly
signed-up provider then uploads its documents through the API as bench/bench_attribution_attacks.py
does (bench/_loo_attacker.py: one collection and one auto-accept offer per target, with the
target's terms), and the index is rebuilt in one segment. The baseline asks every question of
the evaluation set (bench/eval/questions.jsonl) and of the attack benchmark
(bench/attack_questions.toml); an attack scenario asks the attack questions.

Each question is planned with the product's own code (`marketplace.services.answers.plan`:
entitlements, retrieval, the relevance gate, the choice of sources) and written with
`answers.write_answer` on the word statistics of the index, as the answers API does. For every
delivered answer whose plan gave the writer LOO_MIN_SOURCES passages or more, each passage is
withheld in turn (`answers.withhold`) and the answer written again with the same statistics;
the change is 1 - the Jaccard similarity of the two answers' content words (bench/_attacks.py's
`answer_change`). Passages the answer does not use are part of the measure: their share is 0,
and withholding them should change nothing.

Per answer: Spearman's correlation between the passages' shares and the changes their removal
causes (average ranks for ties; when one side is constant, 1.0 if both are, else 0.0). Reported:
the mean over answers, the answers below 0.5, the share-0 passages whose removal changes the
answer, and the answers quoting the attacker's keyword lines or word salad. Two checks: writing
with every passage again reproduces the answer exactly (text and weights), and the answer
equals what `POST /api/v1/answers` returns for the question.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _attacks as attacks
import _catalog_corpus as corpus
from bench_answer_quality import QUESTIONS, Agent, load_questions, setup_demo

LOO_MIN_SOURCES = 3


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="every fourth question only")
    parser.add_argument("--out", type=Path, help="write the results as JSON to this path")
    parser.add_argument("--show", type=int, default=0, help="print the N lowest-agreeing answers")
    parser.add_argument(
        "--min-sources", type=int, default=LOO_MIN_SOURCES, help="passages an answer needs"
    )
    parser.add_argument(
        "--scenario",
        choices=("all", *attacks.SCENARIO_NAMES),
        default="all",
        help="the attack scenario (bench/_attacks.py) to run; all by default",
    )
    parser.add_argument("--jobs", type=int, default=2, help="scenarios run at once")
    parser.add_argument("--raw", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def attack_questions(quick: bool) -> list[tuple[str, str]]:
    """Return ("attack", question) for the attack benchmark's questions."""
    attack = [("attack", q) for t in attacks.load_targets() for q in t.questions]
    return attack[::4] if quick else attack


def all_questions(*, quick: bool) -> list[tuple[str, str]]:
    """Return (set, question) for the evaluation set and the attack questions, in file order."""
    rows = [("eval", r["question"]) for r in load_questions(QUESTIONS, quick=quick)]
    return rows + attack_questions(quick)


class Writer:
    """The product's answer path, in process: plan, write, withhold one passage, write again."""

    def __init__(self, agent_id):
        from marketplace.services import answers

        self.answers = answers
        self.agent_id = agent_id

    def plan(self, question: str):
        from core.errors import DomainError

        try:
            return self.answers.plan(agent_id=self.agent_id, question=question), None
        except DomainError as exc:
            return None, exc.code

    def write(self, answer_plan, statistics, withheld: frozenset[str] = frozenset()):
        if withheld:
            answer_plan = self.answers.withhold(answer_plan, withheld)
        answer = self.answers.write_answer(answer_plan, statistics=statistics)
        weights = {w.source_id: w.weight_ppm for w in answer.attribution.sources}
        self.quoted = [c.cited_text for c in answer.citations]
        return answer.text, weights


def measure(writer: Writer, agent: Agent, kind: str, question: str, min_sources: int) -> dict:
    """Return one question's outcome, with the leave-one-out figures of an eligible answer."""
    answer_plan, refused = writer.plan(question)
    outcome: dict = {"set": kind, "question": question}
    if answer_plan is None:
        return {**outcome, "outcome": refused}
    statistics_ = writer.answers.statistics_for(answer_plan)
    text, weights = writer.write(answer_plan, statistics_)
    ids = [c.source_id for c in answer_plan.chosen]
    shares = [weights.get(i, 0) for i in ids]
    if not any(shares):
        return {**outcome, "outcome": "no_answer", "passages": len(ids)}
    outcome.update(outcome="answered", passages=len(ids), answer=text, source_ids=ids)
    outcome["quoted"] = writer.quoted
    outcome["shares_ppm"] = shares
    outcome["matches_api"] = _matches_api(agent, question, text, weights)
    if len(ids) < min_sources:
        return outcome
    again = writer.write(answer_plan, statistics_)
    outcome["reproduced"] = again == (text, weights)
    changes, without = [], []
    for source_id in ids:
        other, _ = writer.write(answer_plan, statistics_, frozenset({source_id}))
        changes.append(round(attacks.answer_change(text, other), 4))
        without.append(other)
    outcome.update(changes=changes, answers_without=without, rho=attacks.spearman(shares, changes))
    return outcome


def _matches_api(agent: Agent, question: str, text: str, weights: dict[str, int]) -> bool:
    """Return whether the answers API gives this text and these weights for the question."""
    status, body, _ = agent.ask(question)
    if status != 200:
        return False
    shown = {s["source_id"]: s["weight_ppm"] for s in body["attribution"]["sources"]}
    used = {i: w for i, w in weights.items() if w}
    return body["answer"] == text and shown == used


def summarize(outcomes: list[dict]) -> dict:
    """Return the leave-one-out figures over the eligible answers."""
    eligible = [o for o in outcomes if "rho" in o]
    correlations = [o["rho"] for o in eligible]
    pairs = [(s, d) for o in eligible for s, d in zip(o["shares_ppm"], o["changes"], strict=True)]
    answered = [o for o in outcomes if o["outcome"] == "answered"]
    return {
        "questions": len(outcomes),
        "outcomes": dict(Counter(o["outcome"] for o in outcomes)),
        "answered": len(answered),
        "answers_matching_api": sum(1 for o in answered if o["matches_api"]),
        "answers_quoting_gibberish": sum(1 for o in answered if o["quotes_gibberish"]),
        "passages_per_answer": round(statistics.fmean(o["passages"] for o in answered), 2)
        if answered
        else None,
        "answers": len(eligible),
        "sources": len(pairs),
        "reproduced": sum(1 for o in eligible if o["reproduced"]),
        "mean_spearman": round(statistics.fmean(correlations), 4) if correlations else None,
        "answers_below_0_5": sum(1 for r in correlations if r < 0.5),
        "zero_share_sources": sum(1 for s, _ in pairs if s == 0),
        "zero_share_sources_changing_answer": sum(1 for s, d in pairs if s == 0 and d > 0),
        "credited_sources": sum(1 for s, _ in pairs if s > 0),
        "credited_sources_changing_nothing": sum(1 for s, d in pairs if s > 0 and d == 0),
    }


def print_summary(label: str, s: dict) -> None:
    rho = "-" if s["mean_spearman"] is None else f"{s['mean_spearman']:.3f}"
    print(f"\n{label}: {s['questions']} questions, {s['answered']} answered {s['outcomes']}")
    rows = [
        ("answers equal to the API's", f"{s['answers_matching_api']} of {s['answered']}"),
        ("answers quoting gibberish", str(s["answers_quoting_gibberish"])),
        ("passages given to the writer per answer", str(s["passages_per_answer"])),
        ("answers with 3+ passages (measured)", str(s["answers"])),
        ("  reproduced exactly with every passage", f"{s['reproduced']} of {s['answers']}"),
        ("  passages withheld", str(s["sources"])),
        ("mean Spearman (shares vs change)", rho),
        ("answers below 0.5", str(s["answers_below_0_5"])),
        (
            "share-0 passages whose removal changes the answer",
            f"{s['zero_share_sources_changing_answer']} of {s['zero_share_sources']}",
        ),
        (
            "credited passages whose removal changes nothing",
            f"{s['credited_sources_changing_nothing']} of {s['credited_sources']}",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def print_lowest(outcomes: list[dict], count: int) -> None:
    eligible = sorted((o for o in outcomes if "rho" in o), key=lambda o: o["rho"])
    for o in eligible[:count]:
        print(f"\nrho {o['rho']:.2f}  {o['question']}\n  answer: {o['answer']}")
        for i, (source_id, share, change, other) in enumerate(
            zip(o["source_ids"], o["shares_ppm"], o["changes"], o["answers_without"], strict=True),
            start=1,
        ):
            print(f"  [{i}] {source_id:<12} share {share:>8,}  change {change:.2f}")
            if change and share == 0:
                print(f"      without it: {other}")


def run_scenario(name: str, *, quick: bool, min_sources: int) -> dict:
    """Seed the demo in a fresh data directory, add the scenario's attacker, ask; return."""
    scenario = next(s for s in attacks.SCENARIOS if s.name == name)
    targets = attacks.load_targets()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="provenant-loo-") as data_dir:
        os.environ["INGESTION_WITHOUT_BROKER"] = "inline"  # uploads ingested within the request
        key = setup_demo(Path(data_dir))
        agent = Agent(key)
        agent.accept_every_offer()
        from accounts import services as accounts

        found = accounts.authenticate_api_key(raw_key=key)
        if found is None:
            sys.exit("the demo agent's key does not authenticate")
        attacker = None
        if scenario.build is not None:
            import _loo_attacker

            attacker = _loo_attacker.set_up(agent.client, scenario.build(targets), targets)
        seeded_s = time.perf_counter() - started
        writer = Writer(found.organization_id)
        # The baseline asks every question; an attacker copies the attack targets only.
        if scenario.build is None:
            questions = all_questions(quick=quick)
        else:
            questions = attack_questions(quick)
        outcomes = [measure(writer, agent, k, q, min_sources) for k, q in questions]
    gibberish = scenario.build(targets).gibberish if scenario.build is not None else ()
    for outcome in outcomes:
        quoted = outcome.get("quoted", [])
        outcome["quotes_gibberish"] = attacks.quotes_gibberish(quoted, gibberish)
    return {
        "scenario": name,
        "label": scenario.label,
        "attacker": attacker,
        "seconds": round(time.perf_counter() - started, 1),
        "setup_seconds": round(seeded_s, 1),
        "outcomes": outcomes,
    }


def run_in_subprocesses(names: list[str], args: argparse.Namespace, work: Path) -> list[dict]:
    """Run each scenario in a process of its own (each seeds its own database), `jobs` at once."""

    def one(name: str) -> dict:
        out = work / f"{name}.json"
        command = [sys.executable, __file__, "--scenario", name, "--raw", str(out)]
        command += ["--min-sources", str(args.min_sources)] + (["--quick"] if args.quick else [])
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"scenario {name} failed:\n{done.stderr[-2000:]}")
        return json.loads(out.read_text())

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        return list(pool.map(one, names))


def main() -> None:
    args = parse_args()
    if args.raw:  # one scenario, in this process (run_in_subprocesses calls this)
        result = run_scenario(args.scenario, quick=args.quick, min_sources=args.min_sources)
        args.raw.write_text(json.dumps(result, ensure_ascii=False))
        return
    names = list(attacks.SCENARIO_NAMES) if args.scenario == "all" else [args.scenario]
    print(f"machine: {corpus.machine()}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="provenant-loo-runs-") as work:
        runs = run_in_subprocesses(names, args, Path(work))
    elapsed_s = time.perf_counter() - started
    pooled = [o for run in runs for o in run["outcomes"]]
    results = {
        "command": " ".join(["bench/bench_leave_one_out.py", *sys.argv[1:]]),
        "machine": corpus.machine(),
        "elapsed_s": round(elapsed_s, 1),
        "scenarios": {},
        "all": summarize(pooled),
    }
    for run in runs:
        outcomes = run["outcomes"]
        entry = {
            "label": run["label"],
            "attacker": run["attacker"],
            "seconds": run["seconds"],
            "all": summarize(outcomes),
        }
        if run["attacker"] is None:
            entry["eval"] = summarize([o for o in outcomes if o["set"] == "eval"])
            entry["attack"] = summarize([o for o in outcomes if o["set"] == "attack"])
        results["scenarios"][run["scenario"]] = entry
        print_summary(f"{run['scenario']}: {run['label']}", entry["all"])
    print_table(results)
    print_summary("all scenarios", results["all"])
    print(f"\nmeasured in {elapsed_s:.1f} s")
    if args.show:
        print_lowest(pooled, args.show)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        for run in runs:
            answered = [o for o in run["outcomes"] if o["outcome"] == "answered"]
            results["scenarios"][run["scenario"]]["answers"] = answered
        args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
        print(f"\nresults: {args.out}")


def print_table(results: dict) -> None:
    """Print the figures per scenario as the markdown table docs/attribution.md holds."""
    print(
        "\n| scenario | answered | answers with 3+ passages | reproduced | mean Spearman "
        "| below 0.5 | share-0 passages changing the answer | gibberish quoted |"
    )
    print("|---|---|---|---|---|---|---|---|")
    rows = [(n, e["label"], e["all"]) for n, e in results["scenarios"].items()]
    rows.append(("all", "all scenarios", results["all"]))
    for _, label, s in rows:
        rho = "-" if s["mean_spearman"] is None else f"{s['mean_spearman']:.3f}"
        print(
            f"| {label} | {s['answered']}/{s['questions']} | {s['answers']} "
            f"| {s['reproduced']}/{s['answers']} | {rho} | {s['answers_below_0_5']} "
            f"| {s['zero_share_sources_changing_answer']} of {s['zero_share_sources']} "
            f"| {s['answers_quoting_gibberish']} |"
        )


if __name__ == "__main__":
    main()
