import factory

from accounts.models import Membership, Organization, User
from catalog.models import Collection


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
