from core.errors import DomainError

__all__ = ["DomainError"]
