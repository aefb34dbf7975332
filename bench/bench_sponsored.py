"""Benchmark answers with sponsored items allowed against answers without, side by side in one run.

Run (PostgreSQL and Redis on this machine, the python3.11-doc corpus installed):
  .venv/bin/python bench/bench_sponsored.py --quick   # 5,000 chunks, 300 units, 6 x 2 x 8 s
  .venv/bin/python bench/bench_sponsored.py           # 100,000 chunks, 2,000 units, 8 x 2 x 15 s

It builds bench_answers.py's data set (one prepaid agent, funded), adds funded advertisers with
approved ad units (half of them about the benchmark's questions, half about random passages,
so most answers have a relevant unit and every auction has many candidates), starts one
gunicorn server on the embedded BM25 backend, and loads it in alternating windows with the same
questions, once with `allow_sponsored: false` and once with `true` (off, on, then on, off, ...),
so load from anything else on the machine falls on both alike. The frequency cap is off
(ADS_FREQUENCY_CAP=0), so units are not used up over the run.

The server runs as a deployment does, with a Celery broker (Redis): with ads allowed, the answer
runs the auction (snapshot, eligibility, relevance, second price, a Redis hold), signs its
sponsored item, and on commit spends the hold and queues the task that records the serving, its
impression and the trace (`ads.record_serving`), which queues the impression's charge. No worker
runs during the windows: they measure the web tier. Afterwards the queued tasks run in this
process, as a worker runs them; their CPU per sponsored answer is reported, and the run checks
that every item returned was recorded once, with one impression charged into the ledger, and
nothing for answers without ads.
Each window also checks the metering (every answer received metered once). It prints answers/s,
latency and CPU per answer of each mode, the fill rate, and the share of answers/s kept with
sponsored items allowed (the target: at least 90%).
"""

from __future__ import annotations

import json
import random
import sys
import uuid

import _answer_fixture as fixture_data
import _side_by_side as sbs
import bench_answers as ab

ADVERTISERS = 20
# A database and a work directory of its own, so it never meets a bench_answers.py run.
ab.DATABASE = "provenant_bench_sponsored"
ab.WORK_DIR = ab.Path(ab.tempfile.gettempdir()) / "provenant-bench-sponsored"
CATEGORIES = ("software", "education", "retail", "other")


def parse_args():
    parser = sbs.side_by_side_parser(__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, help="approved ad units (300; full 2,000)")
    args = sbs.side_by_side_args(parser)
    args.units = args.units or (300 if args.quick else 2_000)
    return args


def _unit(words: list[str], rng: random.Random, n: int) -> dict:
    a, b, c = words[:3]
    cpc = rng.random() < 0.2
    return {
        "title": f"{a.title()} and {b} for {c}"[:100],
        "body": f"Guides, tools and support for {a}, {b} and {c}, from people who use them."[:500],
        "url": f"https://advertiser-{n % ADVERTISERS}.example/offer/{n}",
        "call_to_action": "Learn more",
        "context_hints": f"Someone asking about {a}, {b} or {c}.",
        "targeting": {"keywords": list(dict.fromkeys(words[:5]))},
        "category": rng.choice(CATEGORIES),
        "bid_type": "cpc" if cpc else "cpm",
        "max_bid_micros": rng.randint(50_000, 500_000) if cpc else rng.randint(1, 10) * 1_000_000,
    }


def seed_ads(units: int, questions: list[str], rng: random.Random) -> int:
    """Create funded advertisers with `units` approved units; return the units created."""
    from accounts import services as accounts
    from accounts.models import User
    from ads import services as ads
    from billing import services as billing
    from catalog.models import Chunk

    operator = User.objects.create_superuser(
        email=f"operator-{uuid.uuid4().hex[:8]}@bench.example", password=None
    )
    owner = User.objects.create_user(email=f"ads-{uuid.uuid4().hex[:8]}@bench.example")
    campaigns = []
    for n in range(ADVERTISERS):
        org = accounts.create_organization(
            user_id=owner.pk, name=f"Bench advertiser {n}", roles=(accounts.ADVERTISER,)
        )
        billing.grant_credit(
            organization_id=org.id,
            amount_micros=10**15,
            idempotency_key=f"bench-sponsored-{org.id}",
            purpose="advertiser_prepaid",
        )
        actor = accounts.actor_for_user(user_id=owner.pk)
        campaign = ads.create_campaign(
            actor=actor,
            organization_id=org.id,
            name=f"Campaign {n}",
            total_budget_micros=10**12,
            pacing="asap",
        )
        campaigns.append((actor, campaign.id))
    word_lists = [fixture_data._content_words(q) for q in questions]
    ids = list(Chunk.objects.values_list("id", flat=True))
    texts = Chunk.objects.filter(id__in=rng.sample(ids, min(len(ids), units))).values_list(
        "text", flat=True
    )
    word_lists += [list(dict.fromkeys(fixture_data._content_words(t))) for t in texts]
    word_lists = [w for w in word_lists if len(w) >= 3]
    asked = word_lists[: len(questions)]
    rng.shuffle(word_lists)
    chosen = (asked * (units // 2 // max(1, len(asked)) + 1))[: units // 2]
    chosen += word_lists[: units - len(chosen)]
    for n, words in enumerate(chosen):
        actor, campaign_id = campaigns[n % ADVERTISERS]
        start = rng.randrange(max(1, len(words) - 4))
        unit = ads.create_unit(
            actor=actor, campaign_id=campaign_id, **_unit(words[start:] or words, rng, n)
        )
        ads.approve_unit(reviewer_id=operator.pk, unit_id=unit.id, version=unit.version)
    return len(chosen)


def drain(redis_url: str) -> tuple[float, float, int]:
    """Run the queued tasks in this process, as a worker would, until none is left (the
    recordings queue the impressions' charges); return the CPU seconds of this process and of
    PostgreSQL, and the tasks run. Run in-process, a worker's start is not counted."""
    import base64
    import time

    import redis
    from django.conf import settings

    from ads.services.placement import outbox
    from config.celery import app

    app.loader.import_default_modules()  # every app's tasks.py, as a worker does
    queue = redis.Redis.from_url(redis_url)
    database = settings.DATABASES["default"]["NAME"]
    ran = 0
    started = time.process_time()
    with ab.CpuMeter(lambda: ab._db_backends(database)) as db:
        while True:
            raw = queue.lpop("celery")
            if raw is None:  # what beat's safety pass would find, then the charges it queues
                if not queue.llen(outbox.QUEUE_KEY):
                    break
                app.tasks["ads.record_servings"]()
                ran += 1
                continue
            message = json.loads(raw)
            body = message["body"]
            if message["properties"].get("body_encoding") == "base64":
                body = base64.b64decode(body)
            args, kwargs, _ = json.loads(body)
            app.tasks[message["headers"]["task"]](*args, **kwargs)
            ran += 1
    return time.process_time() - started, db.seconds, ran


def check_recording(on_ids: set[str], off_ids: set[str], items: int) -> str:
    """Check every item returned was recorded once, its impression charged into the ledger,
    and nothing served beside answers without ads; return a summary (exits on a mismatch)."""
    from ads.models import AdEvent, Serving
    from billing.models import Transaction

    servings = Serving.objects.filter(request_id__in=on_ids | off_ids)
    by_request = {}
    for request_id in servings.values_list("request_id", flat=True):
        by_request[request_id] = by_request.get(request_id, 0) + 1
    events = AdEvent.objects.filter(serving__in=servings, kind="impression")
    charged = events.filter(status=AdEvent.Status.CHARGED)
    posted = Transaction.objects.filter(kind="ad_revenue", external_ref__in=on_ids).count()
    problems = []
    if any(r in off_ids for r in by_request):
        problems.append("items recorded beside answers that did not allow them")
    if sum(by_request.values()) != items or any(n > 1 for n in by_request.values()):
        problems.append(f"{sum(by_request.values())} servings recorded for {items} items")
    free = events.filter(status=AdEvent.Status.FREE).count()  # CPC impressions
    if charged.count() + free != items or posted != charged.count():
        problems.append(f"{charged.count()} impressions charged, {posted} ledger transactions")
    summary = (
        f"{items:,} items returned, {sum(by_request.values()):,} servings recorded, "
        f"{charged.count():,} impressions charged ({free:,} CPC impressions free), "
        f"{posted:,} ledger transactions"
    )
    if problems:
        sys.exit(summary + "; " + "; ".join(problems))
    return summary + ": exact"


def main() -> None:
    args = parse_args()
    # The server queues tasks as a deployment does (the broker is Redis), and nothing consumes
    # them until the windows are over: this process and the worker queue, as deployed.
    server = None
    with sbs.side_by_side(args, ADS_FREQUENCY_CAP="0", CELERY_TASK_ALWAYS_EAGER="0") as side:
        try:
            units = seed_ads(args.units, [r["question"] for r in side.usable], random.Random(13))
            bodies = {
                mode: [
                    json.dumps({**body, "allow_sponsored": mode == "on"}, separators=(",", ":"))
                    for body in side.usable
                ]
                for mode in ("off", "on")
            }
            import redis

            redis.Redis.from_url(args.redis_url).delete("celery", "ads:servings")
            server = ab.start_server(
                {**side.env, "RETRIEVAL_BACKEND": "embedded"},
                app="config.wsgi:application",
                workers=args.workers,
                worker_class="sync",
                threads=1,
                log=ab.WORK_DIR / "gunicorn-sponsored.log",
            )

            received: dict[str, set[str]] = {"off": set(), "on": set()}

            def window(mode: str, seconds: float, inspect: bool = True):
                label = f"answers, sponsored {mode}"
                run = side.window(server, label, bodies[mode], seconds, inspect)
                if inspect:
                    received[mode] |= {answer_id for answer_id, _ in run.result.answers}
                return run, run.result.sponsored

            totals, failed = side.compare(
                window,
                detail=f", {units:,} approved ad units of {ADVERTISERS} advertisers, "
                f"{len(side.usable)} questions",
                columns=("sponsored", "sponsored"),
                kept_with="sponsored items allowed",
                served=True,
            )
            server.stop()
            server = None
            cpu_s, db_s, ran = drain(args.redis_url)
            from ads.models import Serving

            per_item = 1000 / max(1, Serving.objects.count())  # the warm-up's too
            print(
                f"\nrecording afterwards, as a Celery worker would: {ran:,} tasks, "
                f"{cpu_s * per_item:.1f} + {db_s * per_item:.1f} ms of CPU (worker + PostgreSQL) "
                "per sponsored item recorded and charged"
            )
            print(check_recording(received["on"], received["off"], totals["on"].served))
        finally:
            if server is not None:
                server.stop()
    if failed:
        sys.exit(f"{failed} windows had metering mismatches (or served items with ads off)")


if __name__ == "__main__":
    main()
