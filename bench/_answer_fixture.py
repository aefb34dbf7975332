"""The answer benchmark's data set: providers, catalog, offers, agreements, an API key, questions.

The text is the reStructuredText sources of Debian's python3.11-doc cut into overlapping
100-word windows (bench_retrieval.build_passages), grouped into documents of 20 consecutive
windows and spread evenly over the collections. Every row is written in bulk (COPY for chunks);
offer terms go through the licensing service's own validation first.
"""

from __future__ import annotations

import hashlib
import heapq
import multiprocessing
import secrets
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

PROVIDER_NAMES = (
    "Northwind Press", "Helio Science", "Harbor Guides", "Meridian Health", "Stackwise Docs",
    "Wayfarer Travel", "Lumen Research", "Copperleaf Media", "Bluefin Reference",
    "Atlas Learning", "Quarry Technical", "Orchard Journals", "Kestrel Review",
    "Granite Standards", "Tidewater News", "Juniper Manuals", "Beacon Archive",
    "Fernhill Academic", "Sable Analytics", "Riverstone Books",
)  # fmt: skip
WINDOWS_PER_DOCUMENT = 20
# Question templates use only question words and stop words around the corpus words, so the
# answer path's relevance rule (half the question's content words in a passage) can hold.
TEMPLATES = (
    "What is {a} {b}?",
    "How does {a} {b} work?",
    "How do I use {a} with {b}?",
    "Explain {a} and {b} in {c}.",
    "When should {a} be used with {b}?",
    "Why does {a} {b} {c}?",
    "What does {a} do with {b}?",
    "Tell me about {a} {b} {c}.",
)
NATURAL_QUESTIONS = (
    "How do I read a file line by line?",
    "What does the with statement do?",
    "How are default argument values evaluated?",
    "What is a generator expression?",
    "How does the global interpreter lock affect threads?",
    "How do I sort a list of dictionaries by a key?",
    "What is the difference between a list and a tuple?",
    "How do I create a virtual environment?",
    "What does the yield keyword do?",
    "How do I parse JSON from a string?",
    "How are exceptions chained?",
    "What is a context manager?",
    "How does the garbage collector handle reference cycles?",
    "How do I format a string with f-strings?",
    "What does asyncio.gather do?",
    "How do I start a subprocess and read its output?",
    "What is the method resolution order?",
    "How do decorators work?",
    "What are keyword-only arguments?",
    "How do I compare floating point numbers?",
    "How does the import system find modules?",
    "What is a descriptor?",
    "How do I make a class iterable?",
    "What does the __slots__ attribute do?",
    "How do I handle Unicode decoding errors?",
    "What is the difference between bytes and str?",
    "How do I log messages to a file?",
    "How do I measure execution time of small code snippets?",
    "What is a dataclass?",
    "How do regular expression groups work?",
    "How do I copy a dictionary?",
    "What does the walrus operator do?",
    "How do I use the pathlib module?",
    "How are integers represented?",
    "What is structural pattern matching?",
    "How does the socket module create a server?",
    "How do I run tests with unittest?",
    "What are type hints used for?",
    "How do I serialize objects with pickle?",
    "How does the threading Lock work?",
)
RST_NOISE = frozenset(
    ["versionadded", "versionchanged", "deprecated", "func", "meth", "class", "attr", "const",
     "mod", "term", "ref", "seealso", "note", "data", "exc", "envvar", "keyword", "option",
     "samp", "file", "program", "index", "code", "block", "literal", "highlight", "rubric",
     "sectionauthor", "moduleauthor", "describe", "method", "function", "attribute", "module",
     "toctree", "impl", "detail", "opcode", "pep", "rfc", "https", "http", "html", "docs",
     "python", "org", "none", "true", "false"]
)  # fmt: skip


# -- the data set --------------------------------------------------------------------------------


def build_documents(total_chunks: int) -> list[tuple[str, str, list[tuple[int, int]]]]:
    """Return (title, text, chunk spans) per document: source files cut into sections."""
    from bench_retrieval import build_passages

    documents = []
    for name, text, windows in build_passages(total_chunks):
        stem = name.removeprefix("_sources/").removesuffix(".rst.txt")
        for part, start in enumerate(range(0, len(windows), WINDOWS_PER_DOCUMENT), start=1):
            group = windows[start : start + WINDOWS_PER_DOCUMENT]
            base, end = group[0][0], group[-1][1]
            spans = [(a - base, b - base) for a, b in group]
            documents.append((f"{stem} (part {part})", text[base:end], spans))
    return documents


def _offer_terms(index: int, collection_id):
    """Return varied, realistic terms: every payment type, several price units."""
    from licensing import services as licensing

    grounding = ("ai-input", "search")
    kind = index % 10
    common = {"collection_ids": (collection_id,), "usage_types": grounding}
    if kind in (0, 1):
        price = 1000 + 250 * (index % 7)
        return licensing.OfferTerms(
            **common, payment_type="use", price_micros=price, price_unit="retrieved_source"
        )
    if kind == 2:
        return licensing.OfferTerms(
            **common,
            payment_type="use",
            price_micros=2000,
            price_unit="retrieved_source",
            max_snippet_chars=400,
        )
    if kind == 3:
        return licensing.OfferTerms(
            **common, payment_type="use", price_micros=3000, price_unit="cited_source"
        )
    if kind == 4:
        return licensing.OfferTerms(
            **common, payment_type="use", price_micros=800, price_unit="1k_tokens"
        )
    if kind == 5:
        return licensing.OfferTerms(
            **common, payment_type="attribution", citation_required=True, max_snippet_chars=600
        )
    if kind == 6:
        return licensing.OfferTerms(**common, payment_type="free")
    if kind == 7:
        return licensing.OfferTerms(
            **common,
            payment_type="subscription",
            price_micros=20_000_000,
            price_unit="period",
            period="month",
        )
    if kind == 8:
        return licensing.OfferTerms(**common, payment_type="revenue_share", revenue_share_bps=2500)
    return licensing.OfferTerms(
        collection_ids=(collection_id,),
        usage_types=("ai-all", "search"),
        payment_type="use",
        price_micros=1500,
        price_unit="retrieved_source",
    )


def _license(collections, licensed, owner, agent) -> tuple[int, int]:
    """Publish one offer per collection and accept the licensed ones, in bulk.

    The terms go through the licensing service's own validation; the rows are then written
    as publish_offer and accept_offer write them, a thousand at a time instead of one by one.
    """
    from django.utils import timezone

    from licensing.models import LicenseAgreement, LicenseOffer, OfferVersion, PaymentType
    from licensing.services.cache import bump_generation
    from licensing.services.offers import fill_version, validate_terms

    now = timezone.now()
    offers, versions, links, agreements = [], [], [], []
    for index, collection in enumerate(collections):
        provider = owner[collection.id]
        terms = validate_terms(_offer_terms(index, collection.id), provider_id=provider.id)
        offer = LicenseOffer(
            provider=provider,
            name=f"{collection.name} licence",
            status=LicenseOffer.Status.PUBLISHED,
            published_at=now,
        )
        offers.append(offer)
        versions.append(fill_version(OfferVersion(offer=offer, version=1), terms))
    LicenseOffer.objects.bulk_create(offers, batch_size=1000)
    OfferVersion.objects.bulk_create(versions, batch_size=1000)
    through = OfferVersion.collections.through
    for version, collection in zip(versions, collections, strict=True):
        links.append(through(offerversion_id=version.id, collection_id=collection.id))
    through.objects.bulk_create(links, batch_size=1000)
    for offer, version in zip(offers, versions, strict=True):
        offer.current_version = version
    LicenseOffer.objects.bulk_update(offers, ["current_version"], batch_size=1000)
    for offer, version, is_licensed in zip(offers, versions, licensed, strict=True):
        if not is_licensed:
            continue
        subscription = version.payment_type == PaymentType.SUBSCRIPTION
        agreements.append(
            LicenseAgreement(
                agent=agent,
                offer=offer,
                offer_version=version,
                starts_at=now,
                ends_at=now + timedelta(days=30) if subscription else None,
            )
        )
    LicenseAgreement.objects.bulk_create(agreements, batch_size=1000)
    bump_generation()
    return len(offers), len(agreements)


def _copy_chunks(rows) -> None:
    """Write chunk rows with COPY: at 100,000 rows it saves a third of the load time."""
    from django.db import connection

    from catalog.models import Chunk

    fields = (
        "document",
        "collection",
        "ordinal",
        "text",
        "char_start",
        "char_end",
        "token_count",
        "held_out",  # no database default: every bench passage is searchable
    )
    columns = ", ".join(connection.ops.quote_name(Chunk._meta.get_field(f).column) for f in fields)
    table = connection.ops.quote_name(Chunk._meta.db_table)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row((*row, False))


def seed(*, total_chunks: int, agreements: int, unlicensed_per_provider: int, rng) -> dict:
    """Write providers, collections, documents, chunks, offers, agreements and an API key."""
    from accounts.models import APIKey, Organization
    from catalog.models import Chunk, Collection, Document

    providers = len(PROVIDER_NAMES)
    licensed_per_provider = -(-agreements // providers)
    started = time.perf_counter()
    orgs = Organization.objects.bulk_create(
        Organization(name=name, slug=name.lower().replace(" ", "-"), is_provider=True)
        for name in PROVIDER_NAMES
    )
    agent = Organization.objects.create(name="Bench Agents", slug="bench-agents", is_agent=True)
    collections, licensed = [], []
    for org in orgs:
        for n in range(licensed_per_provider + unlicensed_per_provider):
            collections.append(
                Collection(organization=org, name=f"{org.name} collection {n + 1:03d}")
            )
            licensed.append(n < licensed_per_provider)
    # Exactly `agreements` licensed collections: the last providers license one fewer if needed.
    surplus = licensed_per_provider * providers - agreements
    for i in range(len(licensed) - 1, -1, -1):
        if surplus and licensed[i]:
            licensed[i], surplus = False, surplus - 1
    collections = Collection.objects.bulk_create(collections)
    owner = {c.id: org for org in orgs for c in collections if c.organization_id == org.id}

    documents = build_documents(total_chunks)
    rng.shuffle(documents)
    heap = [(0, i) for i in range(len(collections))]
    placed = []
    for title, text, spans in sorted(documents, key=lambda d: -len(d[2])):
        load_now, i = heapq.heappop(heap)
        placed.append((collections[i], title, text, spans))
        heapq.heappush(heap, (load_now + len(spans), i))
    epoch = datetime(2020, 1, 1, tzinfo=UTC)
    rows = Document.objects.bulk_create(
        (
            Document(
                collection=collection,
                external_id=f"doc-{n}",
                title=title,
                author=f"{owner[collection.id].name} staff",
                published_at=epoch + timedelta(days=rng.randrange(2000)),
                source_url=f"https://{owner[collection.id].slug}.example/{n}",
                content_type="text/x-rst",
                content_hash=hashlib.sha256(text.encode()).hexdigest(),
                status=Document.Status.READY,
                text=text,
            )
            for n, (collection, title, text, _spans) in enumerate(placed)
        ),
        batch_size=1000,
    )
    _copy_chunks(
        (document.id, collection.id, ordinal, text[a:b], a, b, len(text[a:b].split()) * 4 // 3)
        for document, (collection, _title, text, spans) in zip(rows, placed, strict=True)
        for ordinal, (a, b) in enumerate(spans)
    )
    chunk_count = Chunk.objects.count()
    print(
        f"catalog: {len(orgs)} providers, {len(collections)} collections, {len(rows):,} "
        f"documents, {chunk_count:,} chunks in {time.perf_counter() - started:.1f} s"
    )

    started = time.perf_counter()
    offers, accepted = _license(collections, licensed, owner, agent)
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    APIKey.objects.create(
        organization=agent,
        name="bench",
        prefix=prefix,
        secret_hash=hashlib.sha256(secret.encode()).hexdigest(),
        scopes=["query", "licensing", "billing"],
        rate_limit_per_minute=1_000_000,
    )
    print(
        f"licensing: {offers:,} published offers, {accepted:,} agreements for one agent "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return {
        "agent_id": str(agent.id),
        "raw_key": f"pvn_{prefix}_{secret}",
        "chunks": chunk_count,
        "agreements": accepted,
        "collections": len(collections),
        "offers": offers,
    }


def build_index() -> float:
    from django.conf import settings

    from catalog import services

    settings.RETRIEVAL_BACKEND = "embedded"
    started = time.perf_counter()
    services.rebuild_search_index()
    return time.perf_counter() - started


# -- questions -----------------------------------------------------------------------------------


def _content_words(text: str) -> list[str]:
    from catalog.retrieval.tokens import tokenize
    from marketplace.services.answers import QUESTION_WORDS

    return [
        w
        for w in tokenize(text)
        if w.isalpha() and len(w) >= 4 and w not in QUESTION_WORDS and w not in RST_NOISE
    ]


def make_requests(count: int, agent_id: str, rng) -> list[dict]:
    """Return `count` answer requests: a few natural questions, the rest from random chunks."""
    from catalog.models import Chunk
    from licensing import services as licensing

    entitled = [
        t.collection_id
        for t in licensing.get_entitlements(agent_id=agent_id, usage_type="ai-input").terms
    ]
    ids = list(Chunk.objects.filter(collection_id__in=entitled).values_list("id", flat=True))
    questions = list(NATURAL_QUESTIONS)
    picked = rng.sample(ids, min(len(ids), count * 2))
    texts = dict(Chunk.objects.filter(id__in=picked).values_list("id", "text"))
    words_of = {i: list(dict.fromkeys(_content_words(texts[i]))) for i in picked}
    # Questions name a passage's distinctive words, as people do, not its commonest ones.
    frequency = Counter(w for words in words_of.values() for w in words)
    common = max(3, len(picked) // 50)
    for chunk_id in picked:
        if len(questions) >= count:
            break
        words = [w for w in words_of[chunk_id] if frequency[w] <= common]
        if len(words) < 3:
            continue
        start = rng.randrange(len(words) - 2)
        a, b, c = words[start : start + 3]
        questions.append(rng.choice(TEMPLATES).format(a=a, b=b, c=c))
    requests = []
    for question in questions:
        body: dict = {"question": question}
        roll = rng.random()
        if roll < 0.15:
            body["max_sources"] = 3
        elif roll < 0.25:
            body["max_sources"] = 8
        elif roll < 0.30:
            body["max_price_micros"] = 10_000
        requests.append(body)
    rng.shuffle(requests)
    return requests


def _plans(task: tuple[str, str, list[dict]]) -> list[bool]:
    """Return, per request, whether `backend` plans and writes an answer (no 402, and no 404
    `no_matching_content` or `no_answer`), metering nothing."""
    backend, agent_id, requests = task
    from django.conf import settings

    from core import errors
    from marketplace.services import answers

    settings.RETRIEVAL_BACKEND = backend
    ok = []
    for body in requests:
        try:
            answer_plan = answers.plan(
                agent_id=agent_id,
                question=body["question"],
                max_sources=body.get("max_sources"),
                max_price_micros=body.get("max_price_micros"),
            )
        except errors.DomainError:  # 402 or 404: nothing licensed matches
            ok.append(False)
            continue
        # The writer may still find that the passages do not answer (404 no_answer, free).
        answer = answers.write_answer(answer_plan)
        ok.append(any(w.weight_ppm for w in answer.attribution.sources))
    return ok


def answerable(requests: list[dict], agent_id: str, backends: list[str]) -> list[dict]:
    """Keep the requests every backend answers, checked in two processes."""
    from django.db import connections

    halves = [requests[: len(requests) // 2], requests[len(requests) // 2 :]]
    tasks = [(backend, agent_id, half) for backend in backends for half in halves]
    connections.close_all()  # each process opens its own
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.map(_plans, tasks)
    keep = [True] * len(requests)
    for b in range(len(backends)):
        flags = results[2 * b] + results[2 * b + 1]
        keep = [k and f for k, f in zip(keep, flags, strict=True)]
    return [body for body, k in zip(requests, keep, strict=True) if k]
