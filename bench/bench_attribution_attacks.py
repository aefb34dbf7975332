"""Replay the attribution attacks of a newly signed-up provider against a live server.

Run:
  .venv/bin/python bench/bench_attribution_attacks.py --out var/attribution_attacks.json
  .venv/bin/python bench/bench_attribution_attacks.py --quick     # 2 questions per target
  .venv/bin/python bench/bench_attribution_attacks.py --database-url postgres://postgres@127.0.0.1:5432/provenant_attacks

It migrates a fresh database (SQLite in a temporary PROVENANT_DATA_DIR unless --database-url),
seeds the demo (`manage.py seed_demo`) and keeps that state as a template. Each scenario then
runs on its own copy of the template, served by gunicorn with the embedded extractive backend,
and talks to it only through the public API: the attacker signs up in the portal, makes an API
key, uploads its documents (bench/_attacks.py builds them) into one collection per target,
publishes an offer on each with the target's payment type and price (auto-accept), and the
demo agent accepts any the market does not already entitle it to; then the agent asks the 56
questions of bench/attack_questions.toml through POST /api/v1/answers.

Leave-one-out agreement is measured by bench/bench_leave_one_out.py, in process: the API has
no way to withhold one passage, and the writer weighs words by the index's statistics, which a
writer run outside the server does not have.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import _attacks as attacks
import httpx

ROOT = attacks.ROOT
PYTHON = sys.executable
ATTACKER_EMAIL = "desk@content-desk.example"
ATTACKER_PASSWORD = "Copied-content-2025!"  # the benchmark's throwaway account
ATTACKER_ORG = "Content Desk"
READY_TIMEOUT_S = 120
JSONL = "application/jsonl"
# The environment every Django process of the benchmark starts from; nothing else leaks in.
PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")


class BenchError(Exception):
    """The server did not do what the benchmark needed to set a scenario up."""


def _expect(response: httpx.Response, *statuses: int) -> dict | list:
    if response.status_code not in statuses:
        raise BenchError(
            f"{response.request.method} {response.request.url.path} -> "
            f"{response.status_code}: {response.text[:500]}"
        )
    return response.json() if response.content else {}


# -- databases and servers -----------------------------------------------------------------------


class Store:
    """Where a scenario's state lives: a data dir (SQLite, index, keys) and maybe PostgreSQL."""

    def __init__(self, work: Path, database_url: str | None):
        self.work = work
        self.database_url = database_url
        self.runs = 0

    @property
    def template_dir(self) -> Path:
        return self.work / "template"

    def _pg_name(self, suffix: str) -> str:
        return self.database_url.rsplit("/", 1)[1] + suffix

    def _pg_url(self, name: str) -> str:
        return self.database_url.rsplit("/", 1)[0] + "/" + name

    def _pg(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(self._pg_url("postgres"), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def _recreate(self, name: str, template: str | None = None) -> None:
        self._pg(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
            f'DROP DATABASE IF EXISTS "{name}"',
            f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""),
        )

    def template(self) -> tuple[Path, str | None]:
        """Return an empty template data dir and database URL."""
        self.template_dir.mkdir(parents=True)
        if not self.database_url:
            return self.template_dir, None
        self._recreate(self._pg_name("_template"))
        return self.template_dir, self._pg_url(self._pg_name("_template"))

    def fresh_copy(self) -> tuple[Path, str | None]:
        """Return a new data dir and database holding exactly the template's state."""
        self.runs += 1
        data_dir = self.work / f"run-{self.runs}"
        shutil.copytree(self.template_dir, data_dir)
        if not self.database_url:
            return data_dir, None
        self._recreate(self._pg_name("_run"), template=self._pg_name("_template"))
        return data_dir, self._pg_url(self._pg_name("_run"))

    def discard(self, data_dir: Path) -> None:
        shutil.rmtree(data_dir, ignore_errors=True)

    def close(self, keep: bool) -> None:
        if self.database_url and not keep:
            with contextlib.suppress(Exception):
                for name in (self._pg_name("_run"), self._pg_name("_template")):
                    self._pg(f'DROP DATABASE IF EXISTS "{name}"')
        if not keep:
            shutil.rmtree(self.work, ignore_errors=True)


def django_env(data_dir: Path, database_url: str | None, options) -> dict:
    env = {name: os.environ[name] for name in PASSTHROUGH if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        PROVENANT_DATA_DIR=str(data_dir),
        INFERENCE_BACKEND="extractive",
        DEBUG="0",
        LOG_LEVEL="WARNING",
        CELERY_TASK_ALWAYS_EAGER="1",
        API_KEY_RATE_LIMIT_PER_MINUTE="1000000",
        # Fresh rate-limit and cache keys for every server, should Redis be shared.
        CACHE_KEY_PREFIX=f"provenant-attacks-{uuid.uuid4().hex[:8]}",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    if options.redis_url:
        env["REDIS_URL"] = options.redis_url
    for item in options.env:
        name, _, value = item.partition("=")
        env[name] = value
    return env


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        raise BenchError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path

    @classmethod
    def start(cls, env: dict, log: Path) -> Server:
        port = free_port()
        command = [
            PYTHON, "-m", "gunicorn", "config.wsgi", f"--bind=127.0.0.1:{port}", "--workers=1",
            "--timeout=120", "--log-level=warning", f"--error-logfile={log}",
        ]  # fmt: skip
        with open(log, "ab") as output:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
        server = cls(process, f"http://127.0.0.1:{port}", log)
        deadline = time.monotonic() + 60
        with httpx.Client(trust_env=False, timeout=2) as client:
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise BenchError(f"gunicorn exited with {process.returncode}; see {log}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(server.url + "/healthz").status_code == 200:
                        return server
                time.sleep(0.2)
        server.stop()
        raise BenchError(f"gunicorn did not answer within 60 s; see {log}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def api(url: str, key: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=url, headers=headers, trust_env=False, timeout=60)


# -- the portal: sign-up and login, as a person does it ------------------------------------------


def _portal_form(client: httpx.Client, path: str, data: dict) -> None:
    client.get(path)
    token = client.cookies.get("csrftoken")
    response = client.post(path, data={**data, "csrfmiddlewaretoken": token})
    if response.status_code != 302:
        raise BenchError(f"POST {path} -> {response.status_code}: {response.text[:300]}")


def _session_key(client: httpx.Client, scopes: list[str], role: str) -> tuple[str, str]:
    """Return (organization id, a new API key) for the signed-in user's organization."""
    orgs = _expect(client.get("/api/v1/organizations"), 200)
    org = next(o for o in orgs if role in o["roles"])
    created = _expect(
        client.post(
            f"/api/v1/organizations/{org['id']}/api-keys",
            json={"name": "attribution benchmark", "scopes": scopes},
            headers={"X-CSRFToken": client.cookies.get("csrftoken")},
        ),
        201,
    )
    return org["id"], created["key"]


def login_key(url: str, email: str, password: str, scopes: list[str], role: str):
    with api(url) as client:
        _portal_form(client, "/login/", {"username": email, "password": password})
        return _session_key(client, scopes, role)


def sign_up_key(url: str) -> tuple[str, str]:
    with api(url) as client:
        _portal_form(
            client,
            "/signup/",
            {
                "email": ATTACKER_EMAIL,
                "password": ATTACKER_PASSWORD,
                "organization_name": ATTACKER_ORG,
                "roles": "provider",
            },
        )
        return _session_key(client, ["catalog", "licensing"], "provider")


# -- the template: the seeded demo, and what the benchmark needs to know about it ----------------


@dataclass
class Template:
    agent_key: str
    provider_keys: dict[str, str]  # provider organization id -> catalog key
    documents: dict[str, dict]  # document url -> {"id", "collection_id", "provider_id"}
    target_terms: dict[str, dict]  # target slug -> the terms of the offer the agent uses


TERM_FIELDS = ("usage_types", "payment_type", "price_micros", "price_unit", "period",
               "revenue_share_bps")  # fmt: skip


def build_template(store: Store, targets, options) -> Template:
    data_dir, database_url = store.template()
    env = django_env(data_dir, database_url, options)
    manage(env, "migrate", "--noinput")
    seeded = manage(env, "seed_demo")
    agent_key = re.search(r"^PROVENANT_API_KEY=(\S+)$", seeded, re.M).group(1)
    logins = re.findall(r"Login:\s+(\S+) / (\S+)\s+\((.+)\)", seeded)
    server = Server.start(env, store.work / "template.log")
    try:
        provider_keys, documents = {}, {}
        for email, password, _org in logins:
            with contextlib.suppress(StopIteration):
                org_id, key = login_key(server.url, email, password, ["catalog"], "provider")
                provider_keys[org_id] = key
        for org_id, key in provider_keys.items():
            with api(server.url, key) as client:
                for collection in _expect(client.get("/api/v1/collections"), 200):
                    page = _expect(
                        client.get(f"/api/v1/collections/{collection['id']}/documents?limit=500"),
                        200,
                    )
                    for doc in page["documents"]:
                        documents[doc["source_url"]] = {
                            "id": doc["id"],
                            "collection_id": collection["id"],
                            "provider_id": org_id,
                        }
        with api(server.url, agent_key) as agent:
            entitled = {
                e["collection_id"]: e
                for e in _expect(agent.get("/api/v1/entitlements?usage_type=ai-input"), 200)
            }
            target_terms = {}
            for target in targets:
                collection_id = documents[target.url]["collection_id"]
                offer = _expect(
                    agent.get(f"/api/v1/market/offers/{entitled[collection_id]['offer_id']}"), 200
                )
                target_terms[target.slug] = {k: offer["terms"][k] for k in TERM_FIELDS}
    finally:
        server.stop()
    return Template(agent_key, provider_keys, documents, target_terms)


# -- one scenario --------------------------------------------------------------------------------


@dataclass
class Attacker:
    org_id: str
    collections: dict[str, str] = field(default_factory=dict)  # target slug -> collection id
    offers: dict[str, str] = field(default_factory=dict)
    accepted: int = 0  # offers the agent had to accept (not entitled by auto-accept)
    documents: int = 0


def _wait_for_job(client: httpx.Client, job_id: str) -> dict:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        job = _expect(client.get(f"/api/v1/ingestion-jobs/{job_id}"), 200)
        if job["status"] in ("succeeded", "partial", "failed"):
            if job["status"] != "succeeded":
                raise BenchError(f"ingestion job {job_id} {job['status']}: {job.get('errors')}")
            return job
        time.sleep(0.2)
    raise BenchError(f"ingestion job {job_id} did not finish in {READY_TIMEOUT_S} s")


def set_up_attacker(url: str, template: Template, plan: attacks.AttackPlan, targets, options):
    org_id, key = sign_up_key(url)
    attacker = Attacker(org_id)
    with api(url, key) as client:
        for target in targets:
            collection = _expect(
                client.post(
                    "/api/v1/collections",
                    json={"name": f"{ATTACKER_ORG}: {target.slug}", "topics": [target.slug]},
                ),
                201,
            )
            attacker.collections[target.slug] = collection["id"]
            records = "".join(
                json.dumps(d.record(), ensure_ascii=False) + "\n"
                for d in plan.documents[target.slug]
            )
            job = _expect(
                client.post(
                    f"/api/v1/collections/{collection['id']}/uploads",
                    files=[("files", (f"{target.slug}.jsonl", records.encode(), JSONL))],
                ),
                202,
            )
            attacker.documents += _wait_for_job(client, job["id"])["progress"]["created"]
            offer = _expect(
                client.post(
                    "/api/v1/offers",
                    json={
                        "name": f"{ATTACKER_ORG}: {target.slug}",
                        "collection_ids": [collection["id"]],
                        **template.target_terms[target.slug],
                        "auto_accept": not options.no_auto_accept,
                    },
                ),
                201,
            )
            _expect(client.post(f"/api/v1/offers/{offer['id']}/publish"), 200)
            attacker.offers[target.slug] = offer["id"]
        _wait_until_searchable(client, attacker, targets)
    with api(url, template.agent_key) as agent:
        entitled = {
            e["collection_id"]
            for e in _expect(agent.get("/api/v1/entitlements?usage_type=ai-input"), 200)
        }
        for slug, collection_id in attacker.collections.items():
            if collection_id not in entitled:
                offer_id = attacker.offers[slug]
                _expect(agent.post(f"/api/v1/market/offers/{offer_id}/accept", json={}), 200, 201)
                attacker.accepted += 1
    return attacker


def _wait_until_searchable(client: httpx.Client, attacker: Attacker, targets) -> None:
    """Wait until every attacker collection's ingestion is finished and its documents are
    judged: ready (searchable) or held out as a copy of another provider's (`duplicate`),
    which is an outcome the scenario measures, not a failure."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    waiting = dict(attacker.collections)
    while waiting and time.monotonic() < deadline:
        for slug, collection_id in list(waiting.items()):
            jobs = _expect(client.get(f"/api/v1/collections/{collection_id}/ingestions"), 200)
            page = _expect(client.get(f"/api/v1/collections/{collection_id}/documents"), 200)
            documents = page["documents"]
            finished = jobs and all(j["status"] in ("succeeded", "partial", "failed") for j in jobs)
            if finished and documents and all(d["status"] != "pending" for d in documents):
                del waiting[slug]
        if waiting:
            time.sleep(0.3)
    if waiting:
        raise BenchError(f"attacker collections never finished ingestion: {sorted(waiting)}")


def ask(client: httpx.Client, question: str, **extra) -> dict:
    """Ask one question; return what the measures need (sources with their snippets)."""
    response = client.post("/api/v1/answers", json={"question": question, **extra})
    body = response.json()
    if response.status_code != 200:
        return {"question": question, "status": response.status_code, "code": body.get("code")}
    weights = {w["source_id"]: w["weight_ppm"] for w in body["attribution"]["sources"]}
    return {
        "question": question,
        "status": 200,
        "answer": body["answer"],
        "total_micros": body["cost"]["total_micros"],
        "unattributed_ppm": body["attribution"]["unattributed_ppm"],
        "quoted": [c["cited_text"] for c in body["citations"]],
        "sources": [
            {
                "id": s["id"],
                "document_id": s["document_id"],
                "collection_id": s["collection_id"],
                "provider_id": s["provider"]["id"],
                "title": s["title"],
                "snippet": s["snippet"],
                "weight_ppm": weights.get(s["id"], 0),
                "amount_micros": s["price"]["amount_micros"],
                "cited": s["cited"],
            }
            for s in body["sources"]
        ],
    }


def run_scenario(scenario, store: Store, template: Template, targets, options) -> dict:
    data_dir, database_url = store.fresh_copy()
    env = django_env(data_dir, database_url, options)
    plan = scenario.build(targets) if scenario.build else attacks.AttackPlan(documents={})
    started = time.monotonic()
    server = Server.start(env, store.work / f"{scenario.name}.log")
    attacker = None
    try:
        if scenario.build:
            attacker = set_up_attacker(server.url, template, plan, targets, options)
            if not options.no_compact:
                server.stop()
                manage(env, "reindex_search")
                server = Server.start(env, store.work / f"{scenario.name}.log")
        with api(server.url, template.agent_key) as agent:
            answers = [
                {**ask(agent, question), "target": target.slug}
                for target in targets
                for question in target.questions
            ]
    finally:
        server.stop()
        if not options.keep:
            store.discard(data_dir)
    return {
        "scenario": scenario.name,
        "label": scenario.label,
        "attacker": None if attacker is None else attacker.__dict__,
        "gibberish_lines": len(plan.gibberish),
        "seconds": round(time.monotonic() - started, 1),
        "answers": answers,
        "gibberish": list(plan.gibberish),
    }


# -- measures ------------------------------------------------------------------------------------


def measure(run: dict) -> dict:
    """Return the scenario's figures from its answers."""
    attacker_id = (run["attacker"] or {}).get("org_id")
    answered = [a for a in run["answers"] if a["status"] == 200]
    shares, paid, earned, zero_share_paid = [], 0, 0, 0
    charged_twice = delivered_twice = gibberish = 0
    for answer in answered:
        sources = answer["sources"]
        mine = [s for s in sources if s["provider_id"] == attacker_id]
        shares.append(sum(s["weight_ppm"] for s in mine) / 1_000_000)
        paid += answer["total_micros"]
        earned += sum(s["amount_micros"] for s in mine)
        zero_share_paid += sum(s["amount_micros"] for s in sources if s["weight_ppm"] == 0)
        if _twice(sources, charged=True):
            charged_twice += 1
        if _twice(sources, charged=False):
            delivered_twice += 1
        if attacks.quotes_gibberish([answer["answer"], *answer["quoted"]], run["gibberish"]):
            gibberish += 1
    refused: dict[str, int] = {}
    for answer in run["answers"]:
        if answer["status"] != 200:
            refused[answer["code"]] = refused.get(answer["code"], 0) + 1
    return {
        "questions": len(run["answers"]),
        "answered": len(answered),
        "refused": refused,
        "attacker_mean_share": statistics.fmean(shares) if shares and attacker_id else None,
        "attacker_answers_with_share": sum(1 for s in shares if s > 0) if attacker_id else None,
        "agent_paid_micros": paid,
        "attacker_earned_micros": earned if attacker_id else None,
        "paid_to_zero_share_micros": zero_share_paid,
        "answers_same_passage_charged_twice": charged_twice,
        "answers_same_passage_delivered_twice": delivered_twice,
        "answers_quoting_gibberish": gibberish,
        "sources_per_answer": statistics.fmean(len(a["sources"]) for a in answered)
        if answered
        else 0,
    }


def _twice(sources: list[dict], *, charged: bool) -> bool:
    pool = [s for s in sources if s["amount_micros"] > 0] if charged else sources
    return any(
        attacks.same_passage(a["snippet"], b["snippet"])
        for i, a in enumerate(pool)
        for b in pool[i + 1 :]
    )


# -- output --------------------------------------------------------------------------------------


def _pct(value) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def print_table(results: dict) -> None:
    rows = results["scenarios"]
    base = rows.get("none", {}).get("figures", {}).get("agent_paid_micros")
    unpadded = rows.get("reworded", {}).get("figures", {}).get("attacker_mean_share")
    print()
    header = (
        f"| attack by a newly signed-up provider ({results['targets']} target articles, "
        f"{results['questions']} questions) | attacker's mean share | vs reworded | agent paid "
        "| attacker earned | charged twice | gibberish quoted | answered |"
    )
    print(header)
    print("|---|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        f = row["figures"]
        paid = f"{f['agent_paid_micros']:,} micros"
        if base and name != "none":
            paid += f" ({f['agent_paid_micros'] / base:.2f}x)"
        rise = "-"
        if row["padded"] and unpadded is not None and f["attacker_mean_share"] is not None:
            rise = f"{(f['attacker_mean_share'] - unpadded) * 100:+.1f} pp"
        earned = f["attacker_earned_micros"]
        print(
            f"| {row['label']} | {_pct(f['attacker_mean_share'])} | {rise} | {paid} | "
            f"{'-' if earned is None else f'{earned:,}'} | "
            f"{f['answers_same_passage_charged_twice']} | {f['answers_quoting_gibberish']} | "
            f"{f['answered']}/{f['questions']} |"
        )
    print("\n| scenario | paid to share-0 sources | same passage delivered twice | sources per "
          "answer | attacker documents | offers the agent accepted | refused |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        f, attacker = row["figures"], row["attacker"] or {}
        spent = f["agent_paid_micros"]
        zero = f["paid_to_zero_share_micros"]
        share = f" ({zero / spent * 100:.1f}%)" if spent else ""
        refused = ", ".join(f"{code} {n}" for code, n in sorted(f["refused"].items())) or "-"
        print(
            f"| {name} | {zero:,} micros{share} | {f['answers_same_passage_delivered_twice']} | "
            f"{f['sources_per_answer']:.2f} | {attacker.get('documents', '-')} | "
            f"{attacker.get('accepted', '-')} | {refused} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--quick", action="store_true", help="2 questions per target")
    parser.add_argument("--database-url", help="PostgreSQL server URL; its database name is "
                        "the prefix of the two databases made (_template, _run)")  # fmt: skip
    parser.add_argument("--redis-url", help="Redis for the servers (cache, rate limits)")
    parser.add_argument(
        "--scenarios", default=",".join(attacks.SCENARIO_NAMES), help="comma-separated subset"
    )
    parser.add_argument("--no-auto-accept", action="store_true",
                        help="publish the attacker's offers without auto-accept")  # fmt: skip
    parser.add_argument("--no-compact", action="store_true",
                        help="ask right after the uploads, before compaction")  # fmt: skip
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a server setting, e.g. RETRIEVAL_BACKEND=embedded")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the data dirs and databases")
    options = parser.parse_args()

    targets = attacks.load_targets()
    if options.quick:
        targets = [attacks.Target(**{**t.__dict__, "questions": t.questions[:2]}) for t in targets]
    wanted = options.scenarios.split(",")
    unknown = set(wanted) - set(attacks.SCENARIO_NAMES)
    if unknown:
        sys.exit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    scenarios = [s for s in attacks.SCENARIOS if s.name in wanted]
    store = Store(Path(tempfile.mkdtemp(prefix="provenant-attacks-")), options.database_url)
    started = time.monotonic()
    results = {
        "benchmark": "attribution attacks",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(PYTHON).name, *sys.argv]),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "database": "postgresql" if options.database_url else "sqlite",
        "targets": len(targets),
        "questions": sum(len(t.questions) for t in targets),
        "scenarios": {},
    }
    try:
        print(f"Seeding the demo template in {store.work} ...", flush=True)
        template = build_template(store, targets, options)
        for scenario in scenarios:
            print(f"Scenario {scenario.name}: {scenario.label} ...", flush=True)
            run = run_scenario(scenario, store, template, targets, options)
            results["scenarios"][scenario.name] = {
                "label": scenario.label,
                "padded": scenario.padded,
                "figures": measure(run),
                "attacker": run["attacker"],
                "seconds": run["seconds"],
                "answers": run["answers"],
            }
    finally:
        store.close(options.keep)
    results["seconds"] = round(time.monotonic() - started, 1)
    print_table(results)
    if options.out:
        options.out.parent.mkdir(parents=True, exist_ok=True)
        options.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
        print(f"\nWrote {options.out}")


if __name__ == "__main__":
    main()
