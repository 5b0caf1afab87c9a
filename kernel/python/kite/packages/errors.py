"""The installer's errors: one class per case, so a cell shows what went wrong in one line and
code can catch a specific case. Every one is a `PackageError`."""


class PackageError(Exception):
    """Base class of kite.packages' errors."""


class PackageNotFound(PackageError):
    """No index knows the project."""


class NoPureWheel(PackageError):
    """The project has releases, but no wheel kite can load (binary-only or sdist-only)."""


class NoMatchingVersion(PackageError):
    """No release satisfies the requested version."""


class RequiresPythonMismatch(PackageError):
    """The matching releases all need another Python than 3.11 (their Requires-Python)."""


class VersionConflict(PackageError):
    """Two requirements want versions of a project that no release satisfies together, or an
    installed version that the request excludes."""


class IndexUnreachable(PackageError):
    """An index or a file could not be fetched (network failure, HTTP error)."""


class HashMismatch(PackageError):
    """A downloaded file's sha256 differs from the one the index published."""


class InvalidRequirement(PackageError):
    """A requirement string that cannot be parsed."""
