import factory

from accounts.models import Membership, Organization, User
from catalog.models import Chunk, Collection, Document


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.django.Password("correct horse battery staple")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"organization-{n}")
    is_agent = True


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = "member"


class CollectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Collection

    organization = factory.SubFactory(OrganizationFactory, is_provider=True)
    name = factory.Sequence(lambda n: f"Collection {n}")


def indexed_passages(collection: Collection, *texts: str) -> tuple[Document, list[int]]:
    """Store a document whose passages are `texts`, one chunk each, and make it searchable;
    return the document and its chunk ids."""
    from catalog import services as catalog_services

    document = Document.objects.create(
        collection=collection,
        external_id=texts[0][:40],
        title=texts[0][:20],
        content_hash=str(hash(texts)),
        text="\n\n".join(texts),
    )
    chunks = Chunk.objects.bulk_create(
        Chunk(
            document=document,
            collection=collection,
            ordinal=ordinal,
            text=text,
            char_start=0,
            char_end=len(text),
            token_count=len(text.split()),
        )
        for ordinal, text in enumerate(texts)
    )
    catalog_services.index_pending_documents()
    return document, [chunk.id for chunk in chunks]
