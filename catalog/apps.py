from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _build_missing_search_index(sender, using="default", **kwargs) -> None:
    from catalog.services import retrieval

    retrieval.build_missing_search_index(using=using)


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        post_migrate.connect(_build_missing_search_index, sender=self)
