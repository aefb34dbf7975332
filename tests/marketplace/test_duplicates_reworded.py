"""Duplicate defence against rewording: a copy with synonyms swapped and clauses moved keeps
its content words and their pairs, so another provider's reworded copy is held out like a
copy; honest writing on the same subject is not."""

import numpy as np
import pytest
from rest_framework.test import APIClient

from catalog import services as catalog_services
from catalog.ingestion import minhash, wording
from catalog.models import Chunk, Document
from catalog.services import duplicates
from tests.marketplace.factories import CollectionFactory
from tests.marketplace.test_duplicates import (
    ORIGINAL,
    _actor,
    _ingest,
    _padding,
    _search,
    _stored_directly,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _index_dir(settings, tmp_path):
    settings.RETRIEVAL_INDEX_DIR = tmp_path / "index"
    settings.RETRIEVAL_RELOAD_INTERVAL_S = 0


@pytest.fixture
def providers(make_org):
    first, _ = make_org(roles=("provider",), name="Northwind Press")
    second, _ = make_org(roles=("provider",), name="Copycat Media")
    return CollectionFactory(organization=first), CollectionFactory(organization=second)


# ORIGINAL as a spinner rewords it: synonyms for about one content word in six, two clauses
# moved. It shares about a quarter of its 5-word runs with ORIGINAL.
REWORDED = (
    "The water cycle is the ceaseless movement of water between the oceans, the atmosphere "
    "and the land. What changes is where it is and in what form; the total quantity of water "
    "on Earth stays nearly constant. The cycle is powered by energy from the Sun, which "
    "evaporates water, and by gravity, which brings it back down and draws it downhill.\n\n"
    "The oceans supply the vast majority of it, and evaporation is the principal way water "
    "enters the atmosphere. Through transpiration plants add more: they draw water from the "
    "soil via their roots and release vapour through pores in their leaves. Researchers "
    "frequently combine the two as evapotranspiration.\n\n"
    "Moist air expands and cools as it rises. Since cooler air can hold less water vapour, "
    "the vapour condenses onto minute particles of dust, salt or smoke, forming the droplets "
    "and ice crystals that make up clouds. They fall as rain, snow, sleet or hail when "
    "droplets collide and grow heavy enough."
)
# ORIGINAL with its clauses moved and few words changed: it keeps three quarters of its
# content words and their pairs (LSH proposes a passage pair at 0.74 with probability 0.96;
# the hashing is fixed, so the outcome is too), a quarter of its 5-word runs.
CLAUSES_MOVED = (
    "The water cycle is the continuous movement of water between the oceans, the "
    "atmosphere and the land. What changes is where it is and in what form; the total "
    "amount of water on Earth stays almost constant. The cycle is driven by gravity, "
    "which brings water back down and pulls it downhill, and by energy from the Sun, "
    "which evaporates it.\n\n"
    "The oceans supply the great majority of it, and evaporation is the main way water "
    "enters the atmosphere. Through transpiration plants add more: they release vapour "
    "through pores in their leaves after they draw water from the soil through their "
    "roots. Scientists often combine the two as evapotranspiration.\n\n"
    "Moist air expands and cools as it rises. Since cooler air can hold less water "
    "vapour, the vapour condenses onto tiny particles of dust, salt or smoke, forming the "
    "ice crystals and droplets that make up clouds. They fall as rain, snow, sleet or "
    "hail when droplets collide and grow heavy enough."
)
# The same subject, written independently.
SAME_SUBJECT = (
    "Rain that falls on a hillside has a long journey ahead. Some of it soaks into the ground "
    "and feeds springs and aquifers, where it may stay for centuries. Some runs off into "
    "streams and rivers and reaches the sea within days. Lakes, glaciers and ice sheets hold "
    "the rest for anything from a season to hundreds of thousands of years.\n\n"
    "Sunlight warms the sea surface and lifts water into the air as vapour, leaving the salt "
    "behind, which is why rain is fresh. Winds carry the vapour inland. Where air is pushed up "
    "over mountains it cools, clouds build, and the windward slopes get most of the "
    "precipitation, while the far side lies in a rain shadow.\n\n"
    "Climate change speeds the whole loop up. Warmer air holds about seven percent more "
    "moisture for every degree Celsius, so droughts dry soils faster and heavy downpours grow "
    "heavier."
)


def _similarities(first: str, second: str) -> tuple[float, float]:
    a, b = minhash.sign_passages([first]), minhash.sign_passages([second])
    by_wording, by_content = minhash.similarities(a.digests[0], b.digests[0])
    return float(by_wording), float(by_content)


def test_the_reworded_copy_shares_content_not_wording():
    for copy in (REWORDED, CLAUSES_MOVED):
        by_wording, by_content = _similarities(ORIGINAL, copy)
        assert by_wording < 0.5 <= by_content  # the wording alone would let it pass
    assert _similarities(ORIGINAL, SAME_SUBJECT)[1] < 0.1


def test_a_reworded_copy_by_another_provider_is_held_out_by_content(providers):
    original_collection, copy_collection = providers
    original = _ingest(original_collection, "water.txt", ORIGINAL, title="The water cycle")

    copy = _ingest(copy_collection, "copy.txt", REWORDED, title="The water cycle")

    assert (copy.status, copy.duplicate_of_id, copy.duplicate_measure) == (
        "duplicate",
        original.id,
        "content",
    )
    assert 0.4 <= copy.duplicate_similarity < 1.0
    assert set(copy.chunks.values_list("held_out", flat=True)) == {True}
    assert _search("transpiration evapotranspiration", copy_collection) == []
    client = APIClient()
    client.force_login(copy_collection.organization.memberships.get(role="owner").user)
    detail = client.get(f"/api/v1/documents/{copy.id}").json()
    assert detail["duplicate_of"]["measure"] == "content"
    assert detail["duplicate_of"]["similarity"] == copy.duplicate_similarity


def test_honest_writing_on_the_same_subject_is_not_held_out(providers):
    original_collection, other_collection = providers
    _ingest(original_collection, "water.txt", ORIGINAL)

    other = _ingest(other_collection, "rain.txt", SAME_SUBJECT)

    assert (other.status, other.duplicate_of_id) == ("ready", None)
    assert not other.chunks.filter(held_out=True).exists()


def test_a_reworded_passage_inside_a_longer_document_is_held_out_alone(providers):
    original_collection, copy_collection = providers
    original = _ingest(original_collection, "water.txt", ORIGINAL)
    padded = "\n\n".join([_padding(1), CLAUSES_MOVED, _padding(2)])

    copy = _ingest(copy_collection, "padded.txt", padded)

    assert copy.status == "ready"
    held = copy.chunks.filter(held_out=True)
    assert held.count() == 1
    assert set(held.values_list("duplicate_of", flat=True)) == {original.chunks.get().id}


def test_rewordings_within_one_collection_are_not_judged_by_content(providers):
    collection, _ = providers
    _ingest(collection, "water.txt", ORIGINAL)

    again = _ingest(collection, "water-again.txt", REWORDED)

    assert again.status == "ready"  # a provider's own writing on one subject stays its own
    assert not again.chunks.filter(held_out=True).exists()


def test_a_provider_rewording_its_own_document_keeps_the_text(providers):
    original_collection, copy_collection = providers
    original = _ingest(original_collection, "water.txt", ORIGINAL)
    copy = _ingest(copy_collection, "copy.txt", ORIGINAL)

    _ingest(original_collection, "water.txt", REWORDED)  # version 2 keeps the text's date

    copy.refresh_from_db()
    assert Document.objects.get(id=original.id).version == 2
    assert (copy.status, copy.duplicate_of_id) == ("duplicate", original.id)


def test_releasing_a_reworded_copy_lets_it_back_in_for_good(
    providers, django_capture_on_commit_callbacks
):
    original_collection, copy_collection = providers
    original = _ingest(original_collection, "water.txt", ORIGINAL)
    copy = _ingest(copy_collection, "copy.txt", REWORDED)

    with django_capture_on_commit_callbacks(execute=True):
        assert duplicates.release_duplicate(document_id=copy.id) is True

    copy.refresh_from_db()
    assert (copy.status, copy.duplicate_of_id, copy.duplicate_released_from_id) == (
        "ready",
        None,
        original.id,
    )
    assert not copy.chunks.filter(held_out=True).exists()
    assert [h.document_id for h in _search("evapotranspiration", copy_collection)] == [copy.id]
    changed = _ingest(copy_collection, "copy.txt", REWORDED + "\n\nA closing line of our own.")
    assert (changed.status, changed.duplicate_of_id) == ("ready", None)


def test_when_the_original_goes_its_reworded_copy_is_let_back_in(
    providers, django_capture_on_commit_callbacks
):
    original_collection, copy_collection = providers
    original = _ingest(original_collection, "water.txt", ORIGINAL)
    copy = _ingest(copy_collection, "copy.txt", REWORDED)
    assert copy.status == "duplicate"

    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.delete_document(
            actor=_actor(original_collection.organization), document_id=original.id
        )

    copy.refresh_from_db()
    assert (copy.status, copy.duplicate_of_id) == ("ready", None)
    assert [h.document_id for h in _search("evapotranspiration", copy_collection)] == [copy.id]


def test_sign_documents_holds_out_reworded_copies_stored_before(
    providers, django_capture_on_commit_callbacks
):
    original_collection, copy_collection = providers
    third = CollectionFactory(organization__is_provider=True)
    original = _stored_directly(original_collection, "water.txt", ORIGINAL)
    copy = _stored_directly(copy_collection, "copy.txt", REWORDED)
    honest = _stored_directly(third, "rain.txt", SAME_SUBJECT)

    with django_capture_on_commit_callbacks(execute=True):
        assert catalog_services.sign_documents() == 3

    copy.refresh_from_db()
    honest.refresh_from_db()
    assert (copy.status, copy.duplicate_of_id, copy.duplicate_measure) == (
        "duplicate",
        original.id,
        "content",
    )
    assert honest.status != "duplicate"
    assert Chunk.objects.filter(held_out=True).count() == 1


def test_content_terms_drop_function_words_and_word_forms():
    assert [wording.term(w) for w in minhash.words("The cells were dividing, cell divides")] == [
        None,
        "cell",
        None,
        "divid",
        "cell",
        "divid",
    ]
    assert wording.term("dough’s".encode()) == "dough"
    assert wording.term(b"(37") == "37"
    assert wording.term(b"x") is None


def test_a_documents_signatures_are_those_of_its_whole_text():
    parts = [ORIGINAL, SAME_SUBJECT, REWORDED]

    signed = minhash.sign_passages(parts)
    whole = minhash.sign_passages(["\n\n".join(parts)])

    assert (signed.digests[0] == whole.digests[0]).all()
    assert signed.signed.tolist() == [True, True, True, True]
    assert not (signed.digests[1] == signed.digests[2]).all()
    short = minhash.sign_passages(["Tides and moons."])
    assert short.signed.tolist() == [False, False]
    assert (short.digests == minhash.UNSIGNED).all()
    assert np.array_equal(minhash.band_keys(short.digests, short.signed), ([], []))


def test_a_version_judged_before_its_transaction_is_judged_again_if_the_document_changed(
    providers, monkeypatch
):
    original_collection, copy_collection = providers
    original = _ingest(original_collection, "water.txt", ORIGINAL)
    judged_as = []
    judge_version = duplicates.judge_version

    def racing(**kwargs):
        judged_as.append(kwargs["document"])
        if len(judged_as) == 1:  # another worker stores the document meanwhile
            Document.objects.create(
                collection=copy_collection, external_id="copy.txt", content_hash="other"
            )
        return judge_version(**kwargs)

    monkeypatch.setattr(duplicates, "judge_version", racing)

    copy = _ingest(copy_collection, "copy.txt", REWORDED)

    assert judged_as[0] is None and judged_as[1].id == copy.id  # new, then the stored one
    assert (copy.version, copy.status, copy.duplicate_of_id) == (2, "duplicate", original.id)
