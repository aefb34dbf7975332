from marketplace.errors import DomainError

__all__ = ["DomainError"]
